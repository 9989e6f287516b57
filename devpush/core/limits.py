"""The longest text a user may send for each kind of value, in characters.

One fact per kind, read by the web forms (``devpush/web/forms.py``) and the API's bodies
(``devpush/api/schemas.py``) alike: past its limit a value is refused with a 422 before any
work is done with it.
"""

from __future__ import annotations

#: An e-mail address: 64 for the local part, @, 255 for the domain (RFC 5321's limits).
EMAIL_CHARS = 320
#: A password or passphrase: room for any a person types, while bounding the hashing work.
PASSWORD_CHARS = 1000
#: A user's display name.
USER_NAME_CHARS = 200
#: An API token's name.
TOKEN_NAME_CHARS = 100
#: A custom domain (and the twin it redirects to): a DNS name is at most 253.
DOMAIN_CHARS = 300
#: An environment's name, and so a variables scope (``shared`` or an environment's name).
ENVIRONMENT_CHARS = 255
#: A variable's name.
VARIABLE_KEY_CHARS = 255
#: One variable's value.
VARIABLE_VALUE_CHARS = 100_000
#: Pasted ``.env`` lines.
ENV_TEXT_CHARS = 200_000
#: A git branch's name (the database's column for it).
BRANCH_CHARS = 255
#: A commit's id: a SHA-256 in hex (a SHA-1 is 40).
COMMIT_CHARS = 64
