"""The NPPA's eight onboarding cases, run against its test URLs (or the mock).

Each case is enabled in the NPPA console, which gives it a test code; the case is then called
at `https://wlc.nppa.gov.cn/test/<api path>/<code>` with the preset identities (fixtures.py)
and must answer as the case says: check and query with status 0, 1 or 2 (testcase01-06), a
guest log-out with `ct=2` and `di` (07), a verified user's with `ct=0` and `pi` (08).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from youthmode.nppa import fixtures
from youthmode.nppa.client import NppaClient
from youthmode.nppa.config import TEST_BASE, Endpoints, NppaSettings
from youthmode.nppa.errors import NppaError

STATUS = {"ok": "ok", "pending": "pending", "failed": "failed"}


@dataclass(frozen=True)
class CaseResult:
    case: str
    passed: bool
    detail: str


def run_case(
    case_name: str,
    settings: NppaSettings,
    code: str,
    *,
    base: str = TEST_BASE,
    client_for: Callable[[Endpoints], NppaClient] | None = None,
) -> CaseResult:
    """Run one case with its console test ``code``; whether the NPPA answered as expected."""
    case = fixtures.CASES[case_name]
    endpoints = Endpoints.for_test_code(code, base)
    client = client_for(endpoints) if client_for else NppaClient(settings, endpoints=endpoints)
    try:
        detail = _call(case, client)
    except NppaError as err:
        return CaseResult(case_name, False, f"{case.title_en}: {err}")
    passed = detail == case.expect
    want = "" if passed else f" (expected {case.expect})"
    return CaseResult(case_name, passed, f"{case.title_en}: {detail}{want}")


def _call(case: fixtures.TestCase, client: NppaClient) -> str:
    if case.api == "loginout":
        now = int(client.clock().timestamp()) - 1
        record: dict[str, object] = {"no": 1, "si": uuid.uuid4().hex, "bt": 0, "ot": now}
        if case.expect == "guest":
            record.update(ct=2, di=fixtures.GUEST_DI)
        else:
            record.update(ct=0, pi=fixtures.PRESET_PIS[0])
        refused = client.loginout([record])
        return case.expect if not refused else f"refused {refused[0].code}"
    preset = fixtures.presets_for(case.expect)[0]
    if case.api == "check":
        result = client.check(preset.ai, preset.name, preset.id_number)
    else:
        result = client.query(preset.ai)
    return result.status
