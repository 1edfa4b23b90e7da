"""The documentation pages over HTTP on the real server: Swagger UI on /docs with every file it
loads served by this server (right content types, nothing from any other host), the compact
reference on /docs/reference, and an unknown file a 404 problem."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
from test_server import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("docs"))
    yield running
    running.stop()


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class Links(HTMLParser):
    """Every URL a page loads or links to (src and href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def links(html: str) -> list[str]:
    parser = Links()
    parser.feed(html)
    return parser.urls


EXPECTED = {
    "docs/assets/swagger-ui-bundle.js": "text/javascript",
    "docs/assets/swagger-ui.css": "text/css",
    "docs/assets/docs.js": "text/javascript",
    "docs/assets/docs.css": "text/css",
    "docs/assets/favicon-32x32.png": "image/png",
    "openapi.json": "application/json",
    "docs/reference": "text/html",
}


def test_swagger_ui_page_loads_only_files_of_this_server(server: Server) -> None:
    status, headers, body = fetch(server.url + "/docs")
    html = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert not re.search(r"(https?:)?//", html)  # no absolute or protocol-relative URL
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    found = links(html)
    assert set(found) == set(EXPECTED)
    for link in found:
        status, headers, body = fetch(urljoin(server.url + "/docs", link))
        assert status == 200, link
        assert headers["Content-Type"].split(";")[0] == EXPECTED[link], link
        assert headers.get("X-Content-Type-Options") == "nosniff" or link == "openapi.json"
        assert body, link
    _, _, bundle = fetch(server.url + "/docs/assets/swagger-ui-bundle.js")
    assert b"SwaggerUIBundle" in bundle and len(bundle) > 500_000  # the real release file
    _, _, init = fetch(server.url + "/docs/assets/docs.js")
    assert b'url: "openapi.json"' in init and b"tryItOutEnabled: true" in init
    assert b"validatorUrl: null" in init  # the badge would call an outside validator
    assert not re.search(rb"https?://", init)


def test_reference_page_is_linked_and_self_contained(server: Server) -> None:
    status, headers, body = fetch(server.url + "/docs/reference")
    html = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert not re.search(r"(https?:)?//", html)
    assert set(links(html)) == {"../openapi.json", "../docs", "assets/reference.js"}
    status, headers, script = fetch(server.url + "/docs/assets/reference.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert b'fetch("../openapi.json")' in script


@pytest.mark.parametrize("name", ["nope.js", "..%2Fdocs.html", "LICENSE", "index.css", "VERSION"])
def test_unknown_asset_is_a_404_problem(server: Server, name: str) -> None:
    status, headers, body = fetch(server.url + "/docs/assets/" + name)
    assert status == 404 and headers["Content-Type"] == "application/problem+json"
    assert b"Not found" in body


def test_the_packaged_swagger_ui_is_version_5() -> None:
    """OpenAPI 3.1 needs Swagger UI 5: an older flask-swagger-ui would render nothing."""
    from youthmode.server.docs_pages import swagger_ui_dist

    version = swagger_ui_dist().joinpath("VERSION").read_text().strip()
    assert re.fullmatch(r"v5\.\d+\.\d+", version), version
