"""The HTTP edge: Starlette handlers that parse, authorise, call a service and answer."""
