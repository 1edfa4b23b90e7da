"""The HTTP baseline: a bare Flask endpoint under youthmode's own gunicorn setup.

`POST /v1/decisions` reads the body and answers a fixed decision JSON of typical size (no
parsing, no engine), so "youthmode / bare" is the cost of the decision work on top of Flask and
gunicorn. The server is youthmode.server.runner's gunicorn application with only `load()` replaced,
so every gunicorn setting (gthread, workers, threads, keep-alive, logging, hooks) is the same.

    python benchmarks/bare_server.py --port 8099 --workers 2
"""

from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, Response, request
from gunicorn.app.base import BaseApplication

from youthmode.server.config import ServerConfig
from youthmode.server.runner import _GunicornApp, prepare_metrics_dir

BODY = (
    '{"decision_id":"01a21eff-d6ae-709c-9bd5-cad7860abf24","effect":"deny","allowed":false,'
    '"band":"12-16","reasons":[{"code":"outside_allowed_window","rule":"cn-baseline/game-window",'
    '"message":"未成年人仅可在周五、周六、周日和法定节假日 20:00–21:00 玩网络游戏",'
    '"message_en":"Minors may play online games only 20:00-21:00 on Fridays, weekends and public '
    'holidays"}],"obligations":[],"remedies":[{"type":"wait","until":"2026-11-27T20:00:00+08:00"}],'
    '"remaining_seconds":null,"valid_until":null,"next_allowed_at":"2026-11-27T20:00:00+08:00",'
    '"facts":{"local_time":"2026-11-27T19:30:00+08:00","timezone":"Asia/Shanghai","day_type":'
    '"workday","calendar_official":true,"age":12,"verified":true,"today_seconds":1200,'
    '"session_seconds":0},"policy":{"id":"cn-baseline","version":"2024.11","digest":'
    '"sha256:d679eb78ad5782888f378bfd0a441fe0cdafb9c5b21d2fe28c91fd291d30a1f4"}}'
)


def create_bare_app() -> Flask:
    app = Flask("bare")

    @app.post("/v1/decisions")
    def decisions() -> Response:
        request.get_data(cache=False)
        return Response(BODY, mimetype="application/json")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response('{"status": "ok"}', mimetype="application/json")

    return app


class BareApp(_GunicornApp):  # type: ignore[misc]
    """youthmode's gunicorn application (its `load_config`: every setting) serving the bare app."""

    def __init__(self, config: ServerConfig) -> None:
        self.ym_config = config
        self.ym_keys = None  # development mode, as the benchmarked youthmode server
        BaseApplication.__init__(self)

    def load(self) -> Any:
        return create_bare_app()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    config = ServerConfig.from_env(host="127.0.0.1", port=args.port, workers=args.workers)
    prepare_metrics_dir(config)  # the shared child_exit hook expects prometheus' folder
    BareApp(config).run()


if __name__ == "__main__":
    main()
