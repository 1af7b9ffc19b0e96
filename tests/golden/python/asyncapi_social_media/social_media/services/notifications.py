"""The `Notifications` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from social_media import models
from social_media.handlers.notifications import NotificationsHandlers


def build() -> NotificationsService:
    """Build the `Notifications` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `NotificationsService`; tests build `NotificationsService`
    themselves with fakes. Handlers read the message's ids, attempt, deadline
    and logger with `social_media.context.current_context()`.
    """
    return NotificationsService()


class NotificationsService(NotificationsHandlers):
    """Implements the handlers of `Notifications`."""

    @override
    def notify_author(self, event: models.CommentLiked) -> None:
        raise NotImplementedError("Notifications.notify_author: implement this handler")
