"""The JSON API (``/api/v1``, bearer tokens), one module per resource.

``app.routes`` registers the routers; dependencies are in ``app.deps``.
"""
