"""One sandbox started ahead of need per worker process, for the limits of the challenge graded last.

After each grading the slot is refilled with a fresh sandbox (torch already imported inside) for the same
limits and device, so the next submission of that challenge skips the interpreter and torch start-up. A
sandbox for other limits, or one that has died, is closed and never used. ``GRADING_PREWARM=0`` turns it off.
"""

from __future__ import annotations

import logging
import os

from workers.sandbox.limits import Limits

logger = logging.getLogger(__name__)


class PrewarmSlot:
    def __init__(self) -> None:
        self._box = None

    @staticmethod
    def enabled() -> bool:
        return os.environ.get("GRADING_PREWARM", "1").strip().lower() not in ("0", "false", "no")

    def take(self, limits: Limits, device: str):
        """The waiting sandbox if it was started for these limits and device and is alive; else None."""
        box, self._box = self._box, None
        if box is not None and not box.is_usable(limits, device):
            box.close()
            return None
        return box

    def refill(self, limits: Limits, device: str) -> None:
        from workers.sandbox.runner import PrewarmedSandbox, SandboxUnavailable

        self.clear()
        if not self.enabled():
            return
        try:
            self._box = PrewarmedSandbox(limits, device)
        except SandboxUnavailable as exc:  # the next grading reports it, with retries
            logger.warning("could not pre-start a sandbox: %s", exc)

    def clear(self) -> None:
        box, self._box = self._box, None
        if box is not None:
            box.close()
