"""Packages are found under `src/`; `templates/` and `static/` ship inside the package.

pyproject.toml cannot both find packages and map two top-level folders into
the package, so the list is made here.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages("src", include=["tocsin", "tocsin.*"]),
        "tocsin.templates",
        "tocsin.static",
    ]
)
