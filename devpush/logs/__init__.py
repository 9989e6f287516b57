"""Log lines for the views: safe HTML rendering and level detection (pure functions)."""
