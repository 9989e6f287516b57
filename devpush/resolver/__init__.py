"""The route resolver: answers the reverse proxy's DNS lookups from the routing table.

``python -m devpush.resolver`` (see ``devpush.services.routing`` for why routes travel by DNS).
"""
