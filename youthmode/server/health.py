"""The operations blueprint: health, readiness, metrics, the OpenAPI document and the admin
reload. None of them but the reload needs a key. (The docs pages: `docs_pages.py`.)"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from youthmode import __version__
from youthmode.server.caller import caller_key, requires
from youthmode.server.problems import ApiProblem, respond
from youthmode.server.state import ServerState, reload_policies, store_status

OPERATIONS = {
    "reload": "reloadPolicies",
    "healthz": "health",
    "readyz": "readiness",
    "metrics": "metrics",
    "openapi": "openapi",
}


def blueprint(state: ServerState) -> Blueprint:
    """The operations routes of one app (``state`` is that app's)."""
    bp = Blueprint("health", __name__)

    @bp.post("/v1/admin/reload")
    @requires("admin")
    def reload() -> Response:
        result = reload_policies(state, "admin")
        if not result.ok:
            raise ApiProblem(
                422,
                "Policy files rejected",
                f"{len(result.problems)} problem(s); still serving {result.digest}",
                problems=[p.to_dict() for p in result.problems],
            )
        return respond(result.to_dict())

    @bp.get("/healthz")
    def healthz() -> Response:
        return respond({"status": "ok", "version": __version__})

    @bp.get("/readyz")
    def readyz() -> Response:
        stale = state.holder.stale()
        ready = not (stale and state.config.not_ready_when_stale)
        status = "ready" if ready else "stale"
        if state.keys is not None and caller_key() is None:
            # Probes need no key and get only this; the details (the store's address in its
            # error, policies, reload problems) are for a caller with any valid key.
            return respond({"status": status, "ready": ready}, 200 if ready else 503)
        body = {"status": status, "ready": ready, **_readiness(state, stale)}
        return respond(body, 200 if ready else 503)

    @bp.get("/metrics")
    def metrics() -> Response:
        data, content_type = state.metrics.exposition()
        return Response(data, content_type=content_type)

    @bp.get("/openapi.json")
    def openapi() -> Response:
        return respond(state.openapi())

    return bp


def _readiness(state: ServerState, stale: bool) -> dict[str, Any]:
    """What `/readyz` tells a caller with a key, after `status` and `ready`."""
    holder = state.holder
    engine = holder.engine
    year = state.now().year
    calendar = [
        {
            "policy": p.id,
            "country": p.calendar.country,
            "year": row.year,
            "official": row.official,
            "source": row.source,
        }
        for p in engine.policies.values()
        if p.calendar.country
        for row in p.calendar.coverage([year, year + 1])
    ]
    return {
        "mode": "development" if state.keys is None else "production",
        "digest": holder.digest,
        "loaded_at": holder.loaded_at.isoformat(),
        "source": holder.source,
        "stale": stale,
        "policies": [
            {"id": p.id, "version": p.version, "digest": p.digest} for p in engine.policies.values()
        ],
        "last_reload": holder.last_reload(),
        "calendar": calendar,
        "store": store_status(state),
    }
