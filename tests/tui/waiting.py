"""Waiting on an app's workers when some are exclusive: a newer worker of the same
group cancels an older one, which then never completes (``wait_for_complete`` raises
``WorkerCancelled`` for it); what matters is that those left have finished."""

from __future__ import annotations

from textual.worker import WorkerCancelled


async def workers_done(app) -> None:
    while True:
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue
