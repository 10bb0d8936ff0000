"""All SQL: the schema, its migrations, and one store per aggregate."""
