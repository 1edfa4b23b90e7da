"""Prometheus: HTTP answers by route template, method and status class, their latency, the
server's process metrics, and every error counter exported at 0 before the first error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CONFIGS
from flask.testing import FlaskClient
from test_server import GAME, Server

from youthmode.api import create_app
from youthmode.server.config import ServerConfig


@pytest.fixture
def client(tmp_path: Path) -> FlaskClient:
    config = ServerConfig(
        policies=str(CONFIGS),
        state_dir=str(tmp_path),
        store=f"sqlite:///{tmp_path}/ledger.db",
        decision_log="off",
    )
    return create_app(config).test_client()


def samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def http(route: str, method: str, status: str) -> str:
    return f'youthmode_http_requests_total{{method="{method}",route="{route}",status="{status}"}}'


def test_answers_are_counted_by_route_template_and_status_class(client: FlaskClient) -> None:
    for _ in range(3):
        assert client.post("/v1/decisions", json=GAME).status_code == 200  # the lane answers
    assert client.post("/v1/decisions?explain=true", json=GAME).status_code == 200  # Flask
    assert client.post("/v1/decisions", json={"action": 1}).status_code == 400
    assert client.get("/v1/subjects/u-1/usage").status_code == 200
    assert client.get("/v1/subjects/u-2/usage").status_code == 200
    assert client.get("/no/such/path").status_code == 404
    assert client.delete("/v1/decisions").status_code == 405
    got = samples(client.get("/metrics").data.decode())
    assert got[http("/v1/decisions", "POST", "2xx")] == 4.0
    assert got[http("/v1/decisions", "POST", "4xx")] == 1.0
    assert got[http("/v1/subjects/{subject_id}/usage", "GET", "2xx")] == 2.0
    assert got[http("(unmatched)", "GET", "4xx")] == 1.0
    assert got[http("(unmatched)", "DELETE", "4xx")] == 1.0
    assert not any("u-1" in name for name in got)  # ids never become labels
    duration = 'youthmode_http_request_duration_seconds_count{method="POST",route="/v1/decisions"}'
    assert got[duration] == 5.0
    assert (
        got[
            'youthmode_http_request_duration_seconds_bucket{le="5.0",method="POST",route="/v1/decisions"}'
        ]
        == 5.0
    )
    assert got["process_cpu_seconds_total"] > 0 and got["process_resident_memory_bytes"] > 0


def test_error_counters_are_there_at_zero_before_any_error(client: FlaskClient) -> None:
    got = samples(client.get("/metrics").data.decode())
    routes = {(r, m) for r, m in re.findall(r'method="(\w+)",route="([^"]+)"', "\n".join(got))}
    assert len(routes) >= 20  # every operation of the route table
    for method, route in routes:
        if route == "(unmatched)":
            continue
        assert got[http(route, method, "5xx")] == 0.0, (route, method)
        assert got[http(route, method, "4xx")] == 0.0 or route == "/metrics"
    assert got[http("/v1/subjects/{subject_id}/guardian/grants", "POST", "5xx")] == 0.0
    for policy in ("cn-baseline", "vn-decree-147", "au-smma"):
        assert got[f'youthmode_engine_errors_total{{policy="{policy}"}}'] == 0.0
    for source in ("admin", "poll"):
        assert got[f'youthmode_policy_reloads_total{{outcome="rejected",source="{source}"}}'] == 0
    for reason in ("head_timeout", "body_timeout", "send_timeout", "overload"):
        assert f'youthmode_connections_dropped_total{{reason="{reason}"}}' in got
    assert "youthmode_decision_log_failures_total" in got


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("metrics"))
    yield running
    running.stop()


def test_the_real_server_reports_every_worker(server: Server) -> None:
    """Under gunicorn (multiprocess mode): counts add up over the workers, the process
    metrics cover the master and both workers, and the zeros are there."""
    for _ in range(12):
        assert server.call("POST", "/v1/decisions", GAME)[0] == 200
    assert server.call("GET", "/v1/policies/nope")[0] == 404
    _, text = server.get("/metrics")
    got = samples(text)
    assert got[http("/v1/decisions", "POST", "2xx")] == 12.0  # shared by the workers
    assert got[http("/v1/policies/{policy_id}", "GET", "4xx")] == 1.0
    assert got[http("/v1/decisions/batch", "POST", "5xx")] == 0.0
    assert got['youthmode_connections_dropped_total{reason="overload"}'] == 0.0
    assert got['youthmode_engine_errors_total{policy="cn-baseline"}'] == 0.0
    assert got["youthmode_worker_processes"] == 2.0
    assert got["process_open_fds"] > 3 * 3  # three processes' stdio at least
    assert got["process_resident_memory_bytes"] > 3 * 10_000_000  # three Pythons
    assert got["process_start_time_seconds"] > 0 and got["process_cpu_seconds_total"] > 0
    assert text.count("# TYPE process_cpu_seconds_total counter") == 1
