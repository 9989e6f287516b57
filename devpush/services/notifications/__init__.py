"""Deploy notifications: a project's channels, the messages, and sending them.

- ``channels``: the channels per project (add, list, remove) and their attempts;
- ``messages``: what a deployment's end says, per kind (pure: tested without a network);
- ``senders``: one try at delivering a message (HTTP or SMTP) and whether to try again.

The worker's ``devpush.notify`` job (``devpush.workers.tasks.notify``) ties them together.
"""
