"""The studio's HTTP part: its page, and JSON endpoints that take the edited TOML in the body.

`blueprint(workspace, served, guard)` serves the page (a static shell with no policy data in
it) and, behind ``guard``, one POST endpoint per view. Each endpoint loads the served folder with
the edited text in place of one file, in memory (`workspace.py`), and answers what the
authoring library computes (`answers.py`). Nothing here writes a file. Errors are RFC 9457
problem+json, as everywhere in the API.

`youthmode studio` mounts it on a small loopback-only app (`studio_app.py`); `youthmode serve`
mounts it at `/studio` behind the `admin` scope. The page's files and everything below the HTTP
layer (the edited set, the fields, the answers) are in `youthmode.studio`, which has no Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from flask import Blueprint, Response, request

from youthmode.authoring.loading import LoadedSet
from youthmode.errors import RequestError
from youthmode.policies import CompiledPolicy
from youthmode.server.body import parse_json_body
from youthmode.server.problems import ApiProblem, problem_response, request_problem, respond
from youthmode.studio import answers, fields
from youthmode.studio.logs import DISABLED, LogFolders, ReplayAsk, replay_answer
from youthmode.studio.workspace import Edited, StudioError, Workspace

F = TypeVar("F", bound=Callable[..., Any])
Guard = Callable[[F], F]
ServedSet = Callable[[], Mapping[str, CompiledPolicy]]
Clock = Callable[[], datetime]
STATIC = Path(answers.__file__).parent / "static"  # the page: HTML, script, style

# The titles of the statuses a studio endpoint answers with, as problem+json.
TITLES = {
    400: "Invalid request",
    404: "Not found",
    409: "Policies unavailable",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Cannot evaluate",
}


def studio_problem(err: StudioError) -> ApiProblem:
    """A studio error as problem+json: `errors` locates the field, as validation errors do."""
    return ApiProblem(
        err.status,
        err.title or TITLES.get(err.status, "Invalid request"),
        str(err),
        errors=[{"loc": ["body", err.field], "msg": str(err)}],
    )


class Studio:
    """The studio's views on one workspace: each takes a request body, answers JSON data."""

    def __init__(
        self,
        workspace: Workspace,
        served: ServedSet | None,
        now: Clock,
        logs: LogFolders | None = None,
    ) -> None:
        self.workspace, self.served, self.now = workspace, served, now
        self.logs = logs or LogFolders()  # none: replay is off (the served /studio)

    def edited(self, body: dict[str, Any]) -> Edited:
        text = fields.policy_text(body)
        return self.workspace.edit(fields.file_name(body), text, self.now())

    def served_set(self, primary: tuple[str, ...]) -> LoadedSet:
        """The set `diff` compares with: the server's loaded policies, else the folder now."""
        if self.served is None:
            return LoadedSet(self.workspace.served().policies, primary)
        return LoadedSet(dict(self.served()), primary)

    def file(self, body: dict[str, Any]) -> dict[str, Any]:
        name = fields.file_name(body)
        try:
            text = self.workspace.path_of(name).read_text(encoding="utf-8-sig", errors="replace")
        except OSError as err:
            raise StudioError("file", f"`{name}` cannot be read: {err.strerror}", 409) from None
        return {"file": name, "text": text, "tests": self.workspace.test_file(name) is not None}

    def check(self, body: dict[str, Any]) -> dict[str, Any]:
        return answers.check_answer(self.edited(body))

    def schedule(self, body: dict[str, Any]) -> dict[str, Any]:
        edited = self.edited(body)
        edited.engine()  # errors in the text first: until they are fixed there is no policy
        policy = fields.optional_str(body, "policy") or _first(edited)
        action = fields.required_str(body, "action")
        week = fields.optional_str(body, "week", 10)
        today = self.now().date()
        return answers.schedule_answer(edited, policy, action, fields.subject(body), week, today)

    def explain(self, body: dict[str, Any]) -> dict[str, Any]:
        return answers.explain_answer(self.edited(body), fields.decision_request(body))

    def test(self, body: dict[str, Any]) -> dict[str, Any]:
        test_file = self.workspace.test_file(fields.file_name(body))
        return answers.tests_answer(self.edited(body), test_file)

    def diff(self, body: dict[str, Any]) -> dict[str, Any]:
        edited = self.edited(body)
        edited.engine()  # an edited file with errors has nothing to compare yet
        year = fields.year(body, self.now().year)
        compare = fields.choice(body, "compare", ("effect", "reasons"))
        return answers.diff_answer(self.served_set(edited.primary), edited, year, compare)

    def floor(self, body: dict[str, Any]) -> dict[str, Any]:
        edited = self.edited(body)
        baseline = fields.optional_str(body, "baseline")
        return answers.floor_answer(edited, baseline, fields.year(body, self.now().year))

    def replay(self, body: dict[str, Any]) -> dict[str, Any]:
        ask = ReplayAsk.of(body)  # every field checked before the text is even loaded
        self.logs.locate(ask.typed)
        return replay_answer(self.edited(body), self.logs, ask)

    def log_list(self) -> dict[str, Any]:
        """The logs the page offers for replay, or why replay is off here."""
        if not self.logs.enabled:
            return {"enabled": False, "reason": DISABLED, "logs": []}
        folders = [str(f) for f in self.logs.folders]
        return {"enabled": True, "logs": self.logs.listing(), "folders": folders}


# `POST /studio/api/<name>`: the views that take the edited text (and `file`, which reads one).
POST_VIEWS = ("file", "check", "schedule", "explain", "test", "diff", "floor", "replay")


def blueprint(
    workspace: Workspace,
    served: ServedSet | None = None,
    guard: Guard[Any] | None = None,
    clock: Clock | None = None,
    logs: LogFolders | None = None,
) -> Blueprint:
    """The studio page and its endpoints. ``served``: the loaded set `diff` compares with
    (default: the folder as loaded now); ``guard``: who may call the endpoints; ``logs``: the
    decision logs `replay` may read (default: none, and replay answers why)."""
    bp = Blueprint("studio", __name__, static_folder=STATIC, static_url_path="/assets")
    protect: Guard[Any] = guard or (lambda view: view)
    studio = Studio(workspace, served, clock or (lambda: datetime.now(UTC)), logs)
    bp.register_error_handler(StudioError, lambda err: problem_response(studio_problem(err)))
    bp.register_error_handler(RequestError, lambda err: problem_response(request_problem(err)))

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

    @bp.get("/api/logs")
    @protect
    def logs_offered() -> Response:
        return respond(studio.log_list())

    for name in POST_VIEWS:
        bp.add_url_rule(
            f"/api/{name}", name, protect(_answering(getattr(studio, name))), methods=["POST"]
        )
    return bp


def _answering(view: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[], Response]:
    def answer() -> Response:
        return respond(view(_body()))

    return answer


# The page runs only its own script and style, and talks only to this server.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


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


def _first(edited: Edited) -> str:
    if not edited.primary:
        raise StudioError("policy", "the edited file defines no policy; name one with `policy`")
    return edited.primary[0]


def _file_list(workspace: Workspace) -> list[dict[str, Any]]:
    return [
        {"file": name, "tests": workspace.test_file(name) is not None} for name in workspace.files()
    ]
