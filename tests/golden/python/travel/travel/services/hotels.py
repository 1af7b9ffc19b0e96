"""The `Hotels` service: your implementation of its handlers.

This file is yours. flowgen created it once and never overwrites it; when
the spec gains a handler, `flowgen generate` adds a stub for it at the end
of the class below, and when a handler leaves the spec it tells you which
method to remove.
"""

from __future__ import annotations

from typing_extensions import override

from travel import models
from travel.handlers.hotels import HotelsHandlers


def build() -> HotelsService:
    """Build the `Hotels` service: the Lambda adapters call this once per cold start.

    Construct its dependencies here (clients, repositories, settings) and pass
    them to `HotelsService`; tests build `HotelsService` themselves with fakes.
    Handlers read the message's ids, attempt, deadline and logger with
    `travel.context.current_context()`.
    """
    return HotelsService()


class HotelsService(HotelsHandlers):
    """Implements the handlers of `Hotels`."""

    @override
    def hold_room(
        self, command: models.HoldRoom
    ) -> models.RoomHeld | models.NoRoomAvailable:
        raise NotImplementedError("Hotels.hold_room: implement this handler")

    @override
    def release_room(self, command: models.ReleaseRoom) -> models.RoomReleased:
        raise NotImplementedError("Hotels.release_room: implement this handler")
