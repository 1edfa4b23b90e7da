"""`youthmode serve`: the decision API under gunicorn, a production WSGI server.

The master validates the policies before it starts any worker, sets up Prometheus
multiprocess metrics, and turns SIGHUP into a graceful restart of every worker (gunicorn's own
behaviour); workers that start while the files are broken serve the last good snapshot.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from youthmode.config import ServerConfig, is_loopback

log = logging.getLogger("youthmode.server")


class RefusedToServe(SystemExit):
    pass


def check_bind(config: ServerConfig) -> None:
    if config.dev_mode and not is_loopback(config.host):
        raise RefusedToServe(
            f"refusing to listen on {config.host}: no API keys are configured (development "
            "mode). Set YOUTHMODE_KEYS_FILE (create keys with `youthmode keys create`) or "
            "bind to 127.0.0.1."
        )


def prepare_metrics_dir(config: ServerConfig) -> Path:
    """A clean folder for prometheus_client's per-worker files, set before workers import it."""
    folder = Path(config.state_dir).resolve() / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def serve(config: ServerConfig) -> None:
    check_bind(config)
    from youthmode.engine import Engine
    from youthmode.policies import load_policies

    # Fail fast, in the master, with every problem listed; and import the holiday data here,
    # once, so forked workers share it instead of each importing it on first use.
    Engine(load_policies([config.policies])).warm()
    if config.default_policy is not None:
        Engine_check(config)
    keys = _load_keys(config)  # read once here; workers inherit them, a HUP re-reads them
    if config.log_key is None:
        # One key for every worker of this server, so pseudonyms match across workers.
        config = dataclasses.replace(config, log_key=secrets.token_hex(32))
        log.warning("no YOUTHMODE_LOG_KEY: decision-log pseudonyms will change at restart")
    prepare_metrics_dir(config)
    if config.dev_mode:
        log.warning(
            "DEVELOPMENT MODE: no API keys; serving on %s:%s only", config.host, config.port
        )
    _GunicornApp(config, keys).run()


def Engine_check(config: ServerConfig) -> None:
    from youthmode.engine import Engine

    Engine.from_path(config.policies, default_policy=config.default_policy)


def _load_keys(config: ServerConfig) -> Any:
    if config.keys_file is None:
        return None
    from youthmode.auth import KeyRing, load_keys

    return KeyRing(load_keys(config.keys_file))


def _child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]  # untyped lib


def _post_worker_init(worker: Any) -> None:
    app = worker.wsgi
    state = getattr(app, "extensions", {}).get("youthmode")
    if state is not None:
        state.signal_master = True


from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # noqa: E402


class _GunicornApp(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
    def __init__(self, config: ServerConfig, keys: Any) -> None:
        self.ym_config = config
        self.ym_keys = keys
        super().__init__()

    def load_config(self) -> None:
        c = self.ym_config
        settings = {
            "bind": f"[{c.host}]:{c.port}" if ":" in c.host else f"{c.host}:{c.port}",
            "workers": c.workers,
            "threads": c.threads,
            "worker_class": c.worker_class,
            "child_exit": _child_exit,
            "post_worker_init": _post_worker_init,
            "graceful_timeout": 30,
            "keepalive": 5,
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "youthmode",
        }
        if getattr(self, "ym_keys", None) is not None:  # a HUP: re-read the keys file
            try:
                self.ym_keys = _load_keys(c)
            except ValueError as err:
                log.error("keys file not reloaded, keeping the previous keys: %s", err)
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 27
            settings["control_socket_disable"] = True
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from youthmode.api import create_app

        return create_app(self.ym_config, keys=self.ym_keys)


def main_serve(config: ServerConfig) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        serve(config)
    except RefusedToServe as err:
        print(f"youthmode: {err.code}", file=sys.stderr)
        return 2
    except ValueError as err:  # a bad keys file or default policy: refuse cleanly
        print(f"youthmode: cannot serve: {err}", file=sys.stderr)
        return 2
    return 0
