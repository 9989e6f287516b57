"""The JSON API (``/api/v1``, bearer tokens), one module per resource.

``devpush.routes`` registers the routers; dependencies are in ``devpush.deps``.
"""
