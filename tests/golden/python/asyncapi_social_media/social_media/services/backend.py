"""The `Backend` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import override

from social_media import models
from social_media.handlers.backend import BackendHandlers


def build() -> BackendService:
    """Build the `Backend` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `BackendService`; tests build `BackendService` themselves with
    fakes. Handlers read the message's ids, attempt, deadline and logger with
    `social_media.context.current_context()`.
    """
    return BackendService()


class BackendService(BackendHandlers):
    """Implements the handlers of `Backend`."""

    @override
    def like_comment(self, event: models.LikeComment) -> Sequence[models.CommentLiked]:
        raise NotImplementedError("Backend.like_comment: implement this handler")

    @override
    def update_comment_likes(
        self, event: models.CommentChanged
    ) -> Sequence[models.UpdateCommentLikes]:
        raise NotImplementedError(
            "Backend.update_comment_likes: implement this handler"
        )
