"""The web app's HTML pages (session cookie and CSRF), one module per feature.

``app.routes`` registers the routers; dependencies are in ``app.deps``.
"""
