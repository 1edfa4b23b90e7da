"""`youthmode schedule`: when a policy allows an action for a subject over one ISO week, as a
text grid, JSON intervals (`--format json`) or an SVG picture (`--svg FILE`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from youthmode.authoring.domain import load_set
from youthmode.authoring.schedule import (
    Subject,
    compute,
    parse_week,
    render_json,
    render_text,
    schedule_request,
)
from youthmode.authoring.schedule_svg import render_svg
from youthmode.cli import flags
from youthmode.engine import Engine
from youthmode.errors import PolicyError, RequestError
from youthmode.policies import CompiledPolicy


def register(sub: Any) -> None:
    """Add `schedule` to the `youthmode` command."""
    cmd = sub.add_parser(
        "schedule",
        help="the week's allowed and denied times for a policy, an age and an action",
        description="Decide the request at every window edge of every day of an ISO week and "
        "show when it is allowed: a text grid, JSON intervals (--format json) or an SVG "
        "picture (--svg FILE). Holidays (H) and make-up working days (M) are marked.",
    )
    flags.add_policy(cmd, "policy id, or a policy file (default: the engine's default policy)")
    flags.add_policies(
        cmd, "policy folders or files to load (repeatable; default: configs)", several=True
    )
    flags.add_subject(cmd, exclusive=True)
    cmd.add_argument("--action", required=True, help="action from the catalog, e.g. game.play")
    cmd.add_argument("--week", help="ISO week, e.g. 2026-W07 (default: this week)")
    flags.add_today(cmd)
    flags.add_resource(cmd, amount_help="the amount, for a spending action (default: 1)")
    flags.add_min_age(cmd)
    flags.add_guardian(cmd)
    flags.add_world(cmd)
    flags.add_format(cmd, default=None, help="output (default: text)")
    cmd.add_argument("--svg", metavar="FILE", help="also write the week as an SVG picture")
    cmd.set_defaults(run=cmd_schedule)


def cmd_schedule(args: argparse.Namespace) -> int:
    """Compute the week and print it (exit 2 on a bad week, policy or request)."""
    try:
        days = parse_week(args.week)
    except ValueError as err:
        return _fail(str(err))
    try:
        policies, pid = choose_policy(args.policy, flags.policy_paths(args))
    except PolicyError as err:
        print("youthmode: cannot load policies:", file=sys.stderr)
        for problem in err.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    if pid is None:
        return _fail(
            f"several policies and no default ({', '.join(sorted(policies))}); "
            "name one with --policy"
        )
    if pid not in policies:
        return _fail(f"unknown policy `{pid}` (loaded: {', '.join(sorted(policies))})")
    policy = policies[pid]
    try:
        request = schedule_request(policy, args.action, _subject(args))
        for table, key, value in flags.world_fields(args):
            flags.set_field(request, table, key, value)
        schedule = compute(Engine(policies.values()), policy, request, days)
    except RequestError as err:
        print(
            json.dumps({"errors": [p.to_dict() for p in err.problems]}, indent=2), file=sys.stderr
        )
        return 2
    except flags.UsageError as err:
        return _fail(str(err))
    if args.svg:
        Path(args.svg).write_text(render_svg(schedule), encoding="utf-8")
    if args.format == "json":
        print(json.dumps(render_json(schedule), ensure_ascii=False, indent=2))
    elif not args.svg or args.format == "text":
        print(render_text(schedule))
    if args.svg:
        print(f"wrote {args.svg}", file=sys.stderr)
    return 0


def choose_policy(
    policy: str | None, paths: list[str]
) -> tuple[dict[str, CompiledPolicy], str | None]:
    """The policies loaded and the id of the one to show: ``policy`` (an id, or a file loaded
    with ``paths`` beside it), else the engine's default policy (None when there is none)."""
    if policy is not None and Path(policy).suffix == ".toml":
        loaded = load_set([policy], paths)
        return dict(loaded.policies), loaded.primary[0]
    loaded = load_set(paths)
    return dict(loaded.policies), policy or Engine(loaded.policies.values()).default_policy


def _subject(args: argparse.Namespace) -> Subject:
    return Subject(
        age=args.age,
        birthdate=args.birthdate,
        verified=bool(args.verified),
        today_seconds=flags.today_seconds(args),
        category=args.category,
        amount=args.amount,
        min_age=args.min_age,
        exemptions=tuple(args.exempt or ()),
        consents=tuple(args.consent or ()),
    )


def _fail(message: str) -> int:
    print(f"youthmode: {message}", file=sys.stderr)
    return 2
