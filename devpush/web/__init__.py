"""The web app's HTML pages (session cookie and CSRF), one module per feature.

``devpush.routes`` registers the routers; dependencies are in ``devpush.deps``.
"""
