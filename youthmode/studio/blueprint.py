"""The studio's HTTP part: its page, and JSON endpoints that take the edited TOML in the body.

`blueprint(workspace, served, guard)` serves the page (a static shell with no policy data in
it) and, behind ``guard``, one POST endpoint per view. Each endpoint loads the served folder with
the edited text in place of one file, in memory (`workspace.py`), and answers what the
authoring library computes (`answers.py`). Nothing here writes a file. Errors are RFC 9457
problem+json, as everywhere in the API.

`youthmode studio` mounts it with a loopback-only guard (`app.py`); `youthmode serve` mounts it
at `/studio` behind the `admin` scope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import Blueprint, Response, request

from youthmode.authoring.loading import LoadedSet
from youthmode.errors import RequestError
from youthmode.policies import CompiledPolicy
from youthmode.server.body import parse_json_body
from youthmode.server.problems import ApiProblem, problem_response, request_problem, respond
from youthmode.studio import answers, fields
from youthmode.studio.workspace import Edited, StudioError, Workspace

F = TypeVar("F", bound=Callable[..., Any])
Guard = Callable[[F], F]
ServedSet = Callable[[], Mapping[str, CompiledPolicy]]
Clock = Callable[[], datetime]

# The titles of the statuses a studio endpoint answers with, as problem+json.
TITLES = {
    400: "Invalid request",
    404: "Not found",
    409: "Policies not loaded",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Cannot evaluate",
}


def studio_problem(err: StudioError) -> ApiProblem:
    """A studio error as problem+json: `errors` locates the field, as validation errors do."""
    return ApiProblem(
        err.status,
        TITLES.get(err.status, "Invalid request"),
        str(err),
        errors=[{"loc": ["body", err.field], "msg": str(err)}],
    )


def blueprint(
    workspace: Workspace,
    served: ServedSet | None = None,
    guard: Guard[Any] | None = None,
    clock: Clock | None = None,
) -> Blueprint:
    """The studio page and its endpoints. ``served``: the loaded set `diff` compares with
    (default: the folder as loaded now); ``guard``: who may call the endpoints."""
    bp = Blueprint("studio", __name__, static_folder="static", static_url_path="/assets")
    protect: Guard[Any] = guard or (lambda view: view)
    now: Clock = clock or (lambda: datetime.now(UTC))
    bp.register_error_handler(StudioError, lambda err: _problem(studio_problem(err)))
    bp.register_error_handler(RequestError, lambda err: _problem(request_problem(err)))

    def served_set(primary: tuple[str, ...]) -> LoadedSet:
        if served is None:
            return LoadedSet(workspace.served().policies, primary)
        return LoadedSet(dict(served()), primary)

    @bp.get("/")
    def page() -> Response:
        # The shell holds no policy data: every view's data comes from a guarded endpoint.
        response = bp.send_static_file("index.html")
        response.headers["Content-Security-Policy"] = CSP
        response.headers["Cache-Control"] = "no-store"
        return response

    @bp.get("/api/files")
    @protect
    def files() -> Response:
        return respond({"files": _file_list(workspace)})

    @bp.post("/api/file")
    @protect
    def file() -> Response:
        name = fields.file_name(_body())
        path = workspace.path_of(name)
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        return respond({"file": name, "text": text, "tests": workspace.test_file(name) is not None})

    @bp.post("/api/check")
    @protect
    def check() -> Response:
        return respond(answers.check_answer(_edited(workspace, now())))

    @bp.post("/api/schedule")
    @protect
    def schedule() -> Response:
        body = _body()
        edited = _edited(workspace, now(), body)
        policy = fields.optional_str(body, "policy") or _first(edited)
        action = fields.required_str(body, "action")
        who = fields.subject(body)
        week = fields.optional_str(body, "week", 10)
        return respond(answers.schedule_answer(edited, policy, action, who, week))

    @bp.post("/api/explain")
    @protect
    def explain() -> Response:
        body = _body()
        edited = _edited(workspace, now(), body)
        return respond(answers.explain_answer(edited, fields.decision_request(body)))

    @bp.post("/api/test")
    @protect
    def test() -> Response:
        body = _body()
        edited = _edited(workspace, now(), body)
        return respond(answers.tests_answer(edited, workspace.test_file(fields.file_name(body))))

    @bp.post("/api/diff")
    @protect
    def diff() -> Response:
        body = _body()
        edited = _edited(workspace, now(), body)
        edited.engine()  # an edited file with errors has nothing to compare yet
        year = fields.year(body, now().year)
        compare = fields.choice(body, "compare", ("effect", "reasons"))
        return respond(answers.diff_answer(served_set(edited.primary), edited, year, compare))

    @bp.post("/api/floor")
    @protect
    def floor() -> Response:
        body = _body()
        edited = _edited(workspace, now(), body)
        baseline = fields.optional_str(body, "baseline")
        return respond(answers.floor_answer(edited, baseline, fields.year(body, now().year)))

    return bp


# The page runs only its own script and style, and talks only to this server.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _problem(problem: ApiProblem) -> Response:
    return problem_response(problem)


def _body() -> dict[str, Any]:
    """The JSON object of this request, read as the API reads bodies (`server/body.py`: JSON
    only, so a form post from another site is refused; amounts as Decimal), within the
    studio's size limit. Read once per request and kept."""
    cached = request.environ.get("youthmode.studio.body")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    length = request.content_length
    if length is not None and length > fields.MAX_BODY_BYTES:
        raise StudioError("body", f"the body is over {fields.MAX_BODY_BYTES // 1024} KiB", 413)
    body = fields.body_object(parse_json_body())
    request.environ["youthmode.studio.body"] = body
    return body


def _edited(workspace: Workspace, now: datetime, body: dict[str, Any] | None = None) -> Edited:
    body = _body() if body is None else body
    return workspace.edit(fields.file_name(body), fields.policy_text(body), now)


def _first(edited: Edited) -> str:
    if not edited.primary:
        raise StudioError("policy", "the edited file defines no policy; name one with `policy`")
    return edited.primary[0]


def _file_list(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        {"file": name, "tests": workspace.test_file(name) is not None} for name in workspace.files()
    ]
