"""The `Comments` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from social_media import models
from social_media.handlers.comments import CommentsHandlers


def build() -> CommentsService:
    """Build the `Comments` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `CommentsService`; tests build `CommentsService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `social_media.context.current_context()`.
    """
    return CommentsService()


class CommentsService(CommentsHandlers):
    """Implements the handlers of `Comments`."""

    @override
    def count_like(self, event: models.CommentLiked) -> Sequence[models.CommentChanged]:
        raise NotImplementedError("Comments.count_like: implement this handler")
