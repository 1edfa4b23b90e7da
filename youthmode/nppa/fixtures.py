"""The NPPA's onboarding test cases and their preset identities.

The eight cases an operator must pass in the NPPA console before going live, with the preset
`ai`, names and ID numbers the NPPA's test system answers for (as public integrations use
them, e.g. rightrun/proof-identity's WlcnppaActivationTest). The mock answers them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Api = Literal["check", "query", "loginout"]


@dataclass(frozen=True)
class Preset:
    ai: str
    name: str
    id_number: str


@dataclass(frozen=True)
class TestCase:
    name: str
    api: Api
    expect: str  # the result the case asks for: ok / pending / failed, or guest / verified
    title_zh: str
    title_en: str


SUCCESS = (
    Preset("100000000000000001", "某一一", "110000190101010001"),
    Preset("100000000000000002", "某一二", "110000190101020007"),
)
PENDING = (
    Preset("200000000000000001", "某二一", "110000190201010009"),
    Preset("200000000000000002", "某二二", "110000190201020004"),
)
FAILED = (
    Preset("300000000000000001", "某三一", "110000190301010005"),
    Preset("300000000000000002", "某三二", "110000190301020002"),
)
PRESET_PIS = ("1fffbjzos82bs9cnyj1dna7d6d29zg4esnh99u", "1fffbkmd9ebtwi7u7f4oswm9li6twjydqs7qjv")
GUEST_DI = "ecvndx6r6xfwofmufs3lbimcr639r33t"

CASES: dict[str, TestCase] = {
    c.name: c
    for c in (
        TestCase("testcase01", "check", "ok", "实名认证 认证成功", "check: verified"),
        TestCase("testcase02", "check", "pending", "实名认证 认证中", "check: in progress"),
        TestCase("testcase03", "check", "failed", "实名认证 认证失败", "check: failed"),
        TestCase("testcase04", "query", "ok", "结果查询 认证成功", "query: verified"),
        TestCase("testcase05", "query", "pending", "结果查询 认证中", "query: in progress"),
        TestCase("testcase06", "query", "failed", "结果查询 认证失败", "query: failed"),
        TestCase("testcase07", "loginout", "guest", "行为上报 游客模式", "loginout: guest"),
        TestCase("testcase08", "loginout", "verified", "行为上报 认证用户", "loginout: verified"),
    )
}


def presets_for(expect: str) -> tuple[Preset, ...]:
    return {"ok": SUCCESS, "pending": PENDING, "failed": FAILED}[expect]
