"""The state one app serves from: settings, policies, keys, ledger, decision log and metrics.

One `ServerState` per app, kept in `app.extensions["youthmode"]`; every blueprint reads it.
"""

from __future__ import annotations

import os
import signal
from datetime import UTC, datetime
from typing import Any

from youthmode.engine import Clock, system_clock
from youthmode.ledger import Ledger, StoreUnavailable
from youthmode.server.auth import KeyRing
from youthmode.server.config import ServerConfig
from youthmode.server.decision_log import DecisionLog
from youthmode.server.metrics import Metrics
from youthmode.server.openapi import Route, build_openapi
from youthmode.server.reloader import PolicyHolder, ReloadResult


class ServerState:
    """Everything the views of one app share (`app.extensions["youthmode"]`)."""

    def __init__(
        self,
        config: ServerConfig,
        holder: PolicyHolder,
        keys: KeyRing | None,
        decision_log: DecisionLog,
        metrics: Metrics,
        ledger: Ledger | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self.clock = clock  # the app's clock (create_app's `clock`)
        self.ledger = ledger
        self.config = config
        self.holder = holder
        self.keys = keys
        self.decision_log = decision_log
        self.metrics = metrics
        self.signal_master = False
        self._published: list[tuple[str, str, str]] = []
        self._openapi: tuple[str, dict[str, Any]] | None = None
        self.routes: list[Route] | None = None  # the app's route table, once registered

    def now(self) -> datetime:
        """The app's clock, in UTC: for times the server reports (batch ids, `/readyz`)."""
        return self.clock().astimezone(UTC)

    def after_reload(self, result: ReloadResult) -> None:
        """Every reload, whatever started it (admin, poll), is counted and published."""
        self.metrics.reloads.labels("ok" if result.ok else "rejected", result.source).inc()
        if result.ok:
            self.publish_policies()

    def publish_policies(self) -> None:
        current = [(p.id, p.version, p.digest) for p in self.holder.engine.policies.values()]
        self.metrics.set_policies(current, self._published)
        self.metrics.prime_policies([p for p, _, _ in current])
        self._published = current

    def openapi(self) -> dict[str, Any]:
        digest = self.holder.digest
        if self._openapi is None or self._openapi[0] != digest:
            actions = sorted({a for p in self.holder.engine.policies.values() for a in p.actions})
            self._openapi = (
                digest,
                build_openapi(actions, ledger=self.ledger is not None, routes=self.routes),
            )
        return self._openapi[1]


def reload_policies(state: ServerState, source: str) -> ReloadResult:
    result = state.holder.reload(source)
    if result.ok and state.signal_master:
        # Under gunicorn, the master restarts every worker gracefully; they load the files
        # this worker just proved good. In-flight requests finish first.
        os.kill(os.getppid(), signal.SIGHUP)
    return result


def store_status(state: ServerState) -> dict[str, Any] | None:
    if state.ledger is None:
        return None
    store = state.ledger.store
    try:
        store.ping()
    except StoreUnavailable as err:
        return {"backend": store.backend, "ok": False, "error": str(err)}
    return {"backend": store.backend, "ok": True}
