"""WSGI callables for Granian (benchmarks/servers.py): youthmode's app and the bare Flask app.

    PYTHONPATH=.:benchmarks granian --interface wsgi --workers 2 --port 8099 granian_app:app

`app` is what `youthmode serve` hands gunicorn (`_GunicornApp.load`): `create_app(config)` from
youthmode.api inside the BodyGuard, with the configuration read from YOUTHMODE_* variables
(development mode: no keys, so loopback only, as the benchmark runs it). Granian has no master
hook, so the checks `youthmode serve` makes before forking (environment, decision-log target,
policies, metrics folder) are not made here: benchmarks/servers.py sets a clean
PROMETHEUS_MULTIPROC_DIR itself. `bare` is benchmarks/bare_server.py's app, the ceiling.
"""

from __future__ import annotations

from bare_server import create_bare_app

from youthmode.api import create_app
from youthmode.server.body_guard import BodyGuard
from youthmode.server.config import ServerConfig

config = ServerConfig.from_env()
app = BodyGuard(create_app(config), config.max_body_bytes)
bare = create_bare_app()
