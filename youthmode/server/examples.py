"""An example answer per operation, and an example value per parameter, for the OpenAPI
document (`openapi.py`): what `/docs` shows under each operation before anyone tries it.

Each answer is a real one, shortened: taken from the server answering the request examples of
`schemas.EXAMPLES` (tests/test_openapi.py checks every answer against its response model).
"""

from __future__ import annotations

from typing import Any

_POLICY_REF = {"id": "cn-baseline", "version": "2024.11", "digest": "sha256:246ff37a…"}
_ALLOW: dict[str, Any] = {
    "decision_id": "01a233a5-f172-7f05-9f87-e95ab620233b",
    "effect": "allow",
    "allowed": True,
    "band": "12-16",
    "reasons": [],
    "obligations": [],
    "remedies": [],
    "remaining_seconds": 1800,
    "valid_until": "2026-11-27T21:00:00+08:00",
    "next_allowed_at": None,
    "facts": {
        "local_time": "2026-11-27T20:30:00+08:00",
        "timezone": "Asia/Shanghai",
        "day_type": "workday",
        "calendar_official": True,
        "age": 12,
        "verified": True,
        "today_seconds": 1200,
        "session_seconds": 600,
    },
    "policy": _POLICY_REF,
}
_DENY_WINDOW: dict[str, Any] = {
    **_ALLOW,
    "effect": "deny",
    "allowed": False,
    "reasons": [
        {
            "code": "outside_allowed_window",
            "rule": "cn-baseline/game-window",
            "message": "未成年人仅可在周五、周六、周日和法定节假日 20:00–21:00 玩网络游戏",
            "message_en": "Minors may play online games only 20:00-21:00 on Fridays, weekends "
            "and public holidays",
        }
    ],
    "remedies": [{"type": "wait", "until": "2026-12-04T20:00:00+08:00"}],
    "remaining_seconds": None,
    "valid_until": None,
    "next_allowed_at": "2026-12-04T20:00:00+08:00",
}
_TOTALS: dict[str, Any] = {
    "subject_id": "u-42",
    "policy": "cn-baseline",
    "day": "2026-11-27",
    "month": "2026-11",
    "today_seconds": 1200,
    "session_seconds": 1200,
    "spend": {"game_topup": {"day": "30.00", "month": "30.00", "held_day": "0", "held_month": "0"}},
    "currency": "CNY",
    "week": "2026-11-23",
    "week_seconds": 1200,
    "apps": {"com.example.game": 1200},
}
_REQUEST: dict[str, Any] = {
    "id": "r-9a7ef5a93df3",
    "minutes": 30,
    "note": "finishing homework",
    "status": "pending",
    "created_at": "2026-11-27T12:07:23+00:00",
    "expires_at": "2026-11-27T13:07:23+00:00",
}
_GUARDIAN: dict[str, Any] = {
    "subject_id": "u-42",
    "settings": {"daily_limit": 2700, "app_consent": "approved", "linked": True},
    "day": "2026-11-27",
    "grants": [
        {
            "seconds": 1800,
            "actor": "parent-1",
            "at": "2026-11-27T12:05:00+00:00",
            "source": "guardian",
        }
    ],
    "extra_seconds_today": 1800,
    "rest_of_day": False,
    "requests": [_REQUEST],
}
_POLICY_SUMMARY: dict[str, Any] = {
    "id": "cn-baseline",
    "version": "2024.11",
    "title": "中国未成年人模式基线 / China minors-protection baseline",
    "digest": "sha256:246ff37a…",
    "timezone": "Asia/Shanghai",
    "calendar": "CN",
    "default": True,
    "extends": None,
    "bands": [{"id": "12-16", "from": 12, "to": 16}, {"id": "adult", "from": 18, "to": None}],
    "actions": ["app.use", "game.play", "game.purchase", "livestream.tip"],
}

# The example success answer of each operation, by operationId.
ANSWERS: dict[str, Any] = {
    "decide": _ALLOW,
    "decideBatch": {"batch_id": "01a233a5-f174-7f59-bb54-5cd6f5d3d45a", "decisions": [_ALLOW]},
    "listPolicies": {
        "default": "cn-baseline",
        "digest": "sha256:dfd3fb31…",
        "policies": [_POLICY_SUMMARY],
    },
    "getPolicy": {
        **_POLICY_SUMMARY,
        "groups": {"minors": ["12-16", "16-18", "3-8", "8-12", "under-3"]},
        "exempt_categories": ["emergency_communication", "filed_education", "system_core"],
        "rules": [
            {
                "rule": "cn-baseline/game-window",
                "kind": "allow_only",
                "code": "outside_allowed_window",
                "waivable": False,
                "bands": ["12-16"],
                "actions": ["game.play"],
            }
        ],
    },
    "recordUsage": {
        "subject_id": "u-42",
        "results": [{"id": "e-1", "status": "accepted", "counted": True}],
        "totals": _TOTALS,
    },
    "recordPurchase": {"id": "p-1", "status": "recorded", "totals": _TOTALS},
    "reservePurchase": {
        **_ALLOW,
        "reservation": {
            "order_id": "o-9",
            "state": "held",
            "amount": "30.00",
            "expires_at": "2026-11-27T12:45:00+00:00",
        },
    },
    "commitPurchase": {"order_id": "o-9", "state": "committed", "amount": "30.00"},
    "releasePurchase": {"order_id": "o-9", "state": "released", "amount": "30.00"},
    "getUsage": _TOTALS,
    "getGuardian": _GUARDIAN,
    "updateGuardian": _GUARDIAN,
    "grantTime": _GUARDIAN,
    "askForTime": _REQUEST,
    "answerTimeRequest": {
        **_REQUEST,
        "status": "approved",
        "answer": "15m",
        "answered_by": "parent-1",
        "answered_at": "2026-11-27T12:10:00+00:00",
    },
    "getGuardianLog": {
        "subject_id": "u-42",
        "changes": [
            {
                "seq": 1,
                "at": "2026-11-27T12:00:00+00:00",
                "actor": "parent-1",
                "change": "settings",
                "before": {},
                "after": {"daily_limit": 2700},
            }
        ],
    },
    "reloadPolicies": {
        "ok": True,
        "at": "2026-11-27T12:00:00+00:00",
        "digest": "sha256:dfd3fb31…",
        "source": "admin",
        "problems": [],
    },
    "health": {"status": "ok", "version": "0.1.0"},
    "readiness": {"status": "ready", "ready": True},
    "metrics": 'youthmode_decisions_total{effect="allow",policy="cn-baseline"} 42.0\n',
    "openapi": {"openapi": "3.1.0", "info": {"title": "youthmode decision API"}, "paths": {}},
    "docs": "<!doctype html>…",
    "docsReference": "<!doctype html>…",
    "docsAsset": "…",
}
# A denial, shown beside the allow for the two decision operations.
DENIAL = _DENY_WINDOW

# An example value per parameter name (path and query).
PARAMETERS: dict[str, str] = {
    "subject_id": "u-42",
    "order_id": "o-9",
    "request_id": "r-9a7ef5a93df3",
    "policy": "cn-baseline",
    "policy_id": "cn-baseline",
    "name": "swagger-ui.css",
}
