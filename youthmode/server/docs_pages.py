"""The documentation pages: Swagger UI on `/docs` (try-it-out against this server), the compact
reference on `/docs/reference`, and the files they load, on `/docs/assets/{name}`.

Swagger UI's files come from the `flask-swagger-ui` package (its `dist` folder: the Swagger UI
release the package's version names); this server serves them itself, so the pages work with no
access to any other host. A Content-Security-Policy holds the pages to this server.
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable

from flask import Blueprint, Response

from youthmode.server.problems import ApiProblem

OPERATIONS = {"docs": "docs", "reference": "docsReference", "asset": "docsAsset"}

# Where each asset comes from: Swagger UI's release (flask-swagger-ui) or this package.
_SWAGGER_UI = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "favicon-16x16.png")
_OURS = ("docs.js", "docs.css", "reference.js")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
# Nothing but this server: scripts and styles from it, fetches to it (try-it-out).
POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def blueprint() -> Blueprint:
    bp = Blueprint("docs", __name__)

    @bp.get("/docs")
    def docs() -> Response:
        return _page("docs.html")

    @bp.get("/docs/reference")
    def reference() -> Response:
        return _page("reference.html")

    @bp.get("/docs/assets/<name>")
    def asset(name: str) -> Response:
        data, content_type = _asset(name)
        response = Response(data, content_type=content_type)
        # The files change only with the package: a day of caching spares a reload 2 MB.
        response.headers["Cache-Control"] = "public, max-age=86400"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    return bp


def _page(name: str) -> Response:
    html = _own(name).read_text("utf-8")
    response = Response(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _own(name: str) -> Traversable:
    return resources.files("youthmode").joinpath("static", name)


def swagger_ui_dist() -> Traversable:
    """The folder of Swagger UI's release files, as flask-swagger-ui ships them."""
    return resources.files("flask_swagger_ui").joinpath("dist")


@functools.cache
def _asset(name: str) -> tuple[bytes, str]:
    """The bytes and content type of one asset; read once per process."""
    if name in _OURS:
        where = _own(name)
    elif name in _SWAGGER_UI:
        where = swagger_ui_dist().joinpath(name)
    else:
        raise ApiProblem(404, "Not found", f"no documentation file `{name}`")
    suffix = name[name.rindex(".") :]
    return where.read_bytes(), CONTENT_TYPES[suffix] + (
        "; charset=utf-8" if suffix != ".png" else ""
    )
