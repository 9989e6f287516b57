"""The route resolver: answers the reverse proxy's DNS lookups from the routing table.

``python -m app.resolver`` (see ``app.services.routing`` for why routes travel by DNS).
"""
