"""Moved to `youthmode.server.worker`; this path stays for `YOUTHMODE_WORKER_CLASS` values
(`youthmode.server_worker.BufferedSyncWorker`) set before the move."""

from youthmode.server.worker import BufferedSyncWorker as BufferedSyncWorker

__all__ = ["BufferedSyncWorker"]
