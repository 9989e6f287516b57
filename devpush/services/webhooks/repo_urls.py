"""One repository, many addresses: compare them as scheme-less ``host/path``.

``https://GitHub.com/o/r.git``, ``git@github.com:o/r`` and ``ssh://git@github.com/o/r``
are the same repository: the host is compared without case, the user, port and scheme
are dropped, and so are a trailing ``.git`` and ``/``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# git@host:path (scp-like), without a scheme.
_SCP = re.compile(r"^(?:[^@/]+@)?(?P<host>[^:/]+):(?P<path>(?!/).*)$")


def normalise(url: str) -> str:
    url = url.strip()
    if "://" in url:
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path
    elif match := _SCP.match(url):
        host, path = match["host"].lower(), match["path"]
    else:  # a local path
        host, path = "", url
    path = path.strip("/")
    if path.endswith(".git"):
        path = path[: -len(".git")]
    return f"{host}/{path.strip('/')}"


def same_repository(project_url: str, payload_urls: Iterable[str]) -> bool:
    wanted = normalise(project_url)
    return any(normalise(url) == wanted for url in payload_urls)
