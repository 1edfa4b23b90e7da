"""`youthmode explain` and `youthmode decide`: one request, from a JSON file, stdin (`-`) or
flags such as `--age 12 --action game.play --at 2026-11-27T20:30+08:00`.

`explain` shows the decision and the trace of every rule the engine considered; `decide` prints
the bare decision as JSON, as the API would answer it.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from youthmode.authoring.explaining import explanation_lines, request_error_lines
from youthmode.cli import flags
from youthmode.engine import Engine
from youthmode.errors import PolicyError, RequestError
from youthmode.model import Explanation

EXIT_OK, EXIT_USAGE = 0, 2


def register(sub: Any) -> None:
    """Add `explain` and `decide` to the `youthmode` command."""
    explain = sub.add_parser(
        "explain",
        help="explain a decision: the answer and the trace of every rule",
        description="Decide one request and show every rule the engine considered.",
    )
    request_arguments(explain)
    explain.add_argument(
        "--applicable", action="store_true", help="leave rules out of scope out of the table"
    )
    flags.add_format(explain)
    explain.set_defaults(run=run_explain)
    decide = sub.add_parser(
        "decide",
        help="decide a request and print the decision as JSON",
        description="Decide one request (JSON file, - for stdin, or flags); print the decision.",
    )
    request_arguments(decide)
    decide.set_defaults(run=run_decide)


def request_arguments(cmd: argparse.ArgumentParser) -> None:
    """The request: a file or stdin, the policies, and one flag per request field."""
    cmd.add_argument(
        "request", nargs="?", help="a JSON request file, or - for stdin; flags override it"
    )
    flags.add_policies(cmd, "a policy folder or file (repeatable; default: configs)")
    who = cmd.add_argument_group("request fields (each sets one field of the request)")
    flags.add_policy(who, "policy id (default: the default policy)")
    who.add_argument("--action", help="action name from the catalog, e.g. game.play")
    who.add_argument("--at", help="RFC 3339 time with offset, e.g. 2026-11-27T20:30+08:00")
    flags.add_subject(who)
    flags.add_usage(who)
    flags.add_resource(who)
    who.add_argument("--app", help="resource.app")
    flags.add_min_age(who)
    who.add_argument("--recipient", choices=["contact", "stranger"], help="resource.recipient")
    flags.add_guardian(who)
    flags.add_world(who)


def answer(args: argparse.Namespace, *, as_json: bool) -> tuple[Explanation | None, int]:
    """Build the request and explain it; on failure print why (to stderr) and return 2.

    An invalid request is reported as `{"errors": [...]}` when ``as_json``, as the HTTP API
    does, and as one line per problem otherwise.
    """
    command = f"youthmode {args.command}"
    paths = flags.policy_paths(args)
    try:
        request = flags.build_request(args)
        return Engine.from_path(*paths).explain(request), EXIT_OK
    except flags.UsageError as err:
        _err(f"{command}: {err}")
    except PolicyError as err:
        _err(f"{command}: the policies do not load:")
        for problem in err.problems:
            _err(f"  {problem}")
        _err(f"  run `youthmode check {' '.join(paths)}` for help on each problem")
    except RequestError as err:
        if as_json:
            _err(_json({"errors": [p.to_dict() for p in err.problems]}))
        else:
            _err(f"{command}: invalid request:")
            for line in request_error_lines(err):
                _err(f"  {line}")
    return None, EXIT_USAGE


def run_decide(args: argparse.Namespace) -> int:
    """Print the decision for one request as JSON (exit 2 on an invalid request)."""
    explanation, code = answer(args, as_json=True)
    if explanation is not None:
        print(_json(explanation.decision.model_dump(mode="json")))
    return code


def run_explain(args: argparse.Namespace) -> int:
    """Print the decision and the trace of every rule, as text or JSON."""
    explanation, code = answer(args, as_json=args.format == "json")
    if explanation is None:
        return code
    if args.format == "json":
        print(_json(explanation.model_dump(mode="json")))
        return EXIT_OK
    for line in explanation_lines(explanation, only_applicable=args.applicable):
        print(line)
    return EXIT_OK


def _err(line: str) -> None:
    print(line, file=sys.stderr)


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
