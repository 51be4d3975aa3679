"""The console's HTTP routes, one module per area; :func:`console.api.create_app` includes them all."""
