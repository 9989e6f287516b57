"""The route resolver: answers the reverse proxy's DNS lookups from the proxy table.

``python -m devpush.resolver`` (see ``devpush.services.proxy_table`` for why host entries
travel by DNS; ``devpush.resolver.names`` for the names it gives runners).
"""
