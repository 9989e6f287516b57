from tests.routers.webapp import client, live_url, queue, settings, two_teams, web_app

__all__ = ["client", "live_url", "queue", "settings", "two_teams", "web_app"]
