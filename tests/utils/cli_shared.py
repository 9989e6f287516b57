"""What the CLI shares with the server: modules of the standard library only, so the CLI
installs without the server's packages (ARCHITECTURE.md). tests/test_layers.py checks the
CLI imports no other module of the server, tests/cli/test_install.py that an installed
CLI loads no other."""

from __future__ import annotations

#: What the CLI shares with the server (standard library only).
SHARED_WITH_CLI = frozenset({"devpush.ansi", "devpush.units"})
