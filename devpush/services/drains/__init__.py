"""Log drains: a project's log lines forwarded to its team's own sink.

``configure``: add (validated), list, remove a drain; ``records``: a line as each kind
writes it (NDJSON, RFC 5424, OTLP JSON); ``senders``: one delivery of a batch;
``delivery``: a drain's loop over the log store, from its persisted cursor, with retries.
The worker runs the loops (``devpush/workers/drains.py``); docs/logging.md says why.
"""
