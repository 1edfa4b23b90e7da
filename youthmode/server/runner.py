"""`youthmode serve`: the decision API under gunicorn, a production WSGI server.

The master checks everything it can before it starts any worker (settings, environment, the
listening address, the decision-log file, the policies), sets up Prometheus multiprocess
metrics, and turns SIGHUP into a graceful restart of every worker (gunicorn's own behaviour);
workers that start while the files are broken serve the last good snapshot. Workers are
`BufferedSyncWorker`s (youthmode/server/worker.py), so slow clients cannot hold them.
docs/operations.md describes every limit and failure mode.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import socket
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from youthmode.server.config import ServerConfig, is_loopback, unknown_variables

log = logging.getLogger("youthmode.server")


class RefusedToServe(SystemExit):
    pass


def check_bind(config: ServerConfig, env: Mapping[str, str] | None = None) -> None:
    if not config.dev_mode:
        return
    if not is_loopback(config.host):
        raise RefusedToServe(
            f"refusing to listen on {config.host}: no API keys are configured (development "
            "mode). Set YOUTHMODE_KEYS_FILE (create keys with `youthmode keys create`) or "
            "bind to 127.0.0.1."
        )
    # gunicorn also serves sockets it inherits (systemd socket activation, or its own
    # re-exec on USR2) instead of binding `host`: those must be loopback too.
    for fd in inherited_fds(os.environ if env is None else env):
        if not _is_local_socket(fd):
            raise RefusedToServe(
                f"refusing to serve inherited socket {fd}, not a loopback socket, in "
                "development mode (no API keys). Set YOUTHMODE_KEYS_FILE or bind it to "
                "127.0.0.1."
            )


def inherited_fds(env: Mapping[str, str]) -> list[int]:
    """The listening sockets gunicorn would take over instead of binding, as it reads them."""
    fds: list[int] = []
    if env.get("LISTEN_PID", "") == str(os.getpid()):
        fds.extend(range(3, 3 + _int(env.get("LISTEN_FDS"))))
    if env.get("GUNICORN_FD"):
        fds.extend(_int(fd) for fd in env["GUNICORN_FD"].split(","))
    return fds


def _int(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        raise RefusedToServe(f"`{text}` is not a file descriptor count or number") from None


def _is_local_socket(fd: int) -> bool:
    """Is this a Unix socket, or a socket bound to a loopback address?"""
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            family, name = sock.family, sock.getsockname()
    except OSError:
        return False
    return family == socket.AF_UNIX or is_loopback(str(name[0]))


def check_environment(env: Mapping[str, str] | None = None) -> None:
    problems = unknown_variables(os.environ if env is None else env)
    if problems:
        raise RefusedToServe("; ".join(problems))


def check_log_key(config: ServerConfig) -> None:
    """With API keys (production), pseudonyms must survive a restart: a key is required."""
    if not config.dev_mode and config.log_key is None and config.decision_log != "off":
        raise RefusedToServe(
            "refusing to serve in production (YOUTHMODE_KEYS_FILE is set) without "
            "YOUTHMODE_LOG_KEY: decision-log pseudonyms would change at every restart. Set it "
            "to a secret, e.g. `openssl rand -hex 32`, or set YOUTHMODE_DECISION_LOG=off."
        )


def prepare_metrics_dir(config: ServerConfig) -> Path:
    """A clean folder for prometheus_client's per-worker files, set before workers import it."""
    folder = Path(config.state_dir).resolve() / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    return folder


def serve(config: ServerConfig) -> None:
    # State files (decision log, snapshots, metrics, the ledger) are for this user only.
    os.umask(0o077)
    check_environment()
    check_log_key(config)
    check_bind(config)
    from youthmode.engine import Engine
    from youthmode.policies import load_policies
    from youthmode.server.decision_log import check_target

    check_target(config.decision_log)
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
    from youthmode.server.auth import KeyRing

    return KeyRing.from_file(config.keys_file)


def _pre_fork(server: Any, worker: Any) -> None:
    from youthmode.server.balance import create_table

    create_table().assign(worker)


def _child_exit(server: Any, worker: Any) -> None:
    from youthmode.server import balance
    from youthmode.server.metrics import merge_dead_process

    if balance.TABLE is not None:
        balance.TABLE.release(worker)
    try:
        merge_dead_process(worker.pid)
    except Exception:  # the master must outlive any bookkeeping failure
        log.exception("could not merge the metrics of worker %s", worker.pid)


def _post_worker_init(worker: Any) -> None:
    app = getattr(worker.wsgi, "app", worker.wsgi)  # inside the BodyGuard
    state = getattr(app, "extensions", {}).get("youthmode")
    if state is not None:
        state.signal_master = True
        state.metrics.server_pid = os.getppid()  # /metrics: the master's and every worker's


from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]  # noqa: E402
from gunicorn.glogging import Logger as GunicornLogger  # type: ignore[import-untyped]  # noqa: E402


class _JsonGunicornLogger(GunicornLogger):  # type: ignore[misc]  # gunicorn ships no type hints
    """gunicorn's logger, its lines (`gunicorn.error`) written as JSON (logs.py)."""

    def setup(self, cfg: Any) -> None:
        from youthmode.server.logs import JsonFormatter

        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())


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
            "pre_fork": _pre_fork,
            "child_exit": _child_exit,
            "post_worker_init": _post_worker_init,
            "graceful_timeout": 30,
            "keepalive": c.keepalive,
            # gunicorn's defaults, named here because the worker answers them as problems:
            # a longer request line is a 414, more or longer header fields a 431.
            "limit_request_line": 4094,
            "limit_request_fields": 100,
            "limit_request_field_size": 8190,
            # Access lines come from the app (logs.AccessLog): gunicorn's would turn off the
            # worker's fast path.
            "accesslog": None,
            "errorlog": "-",
            "proc_name": "youthmode",
        }
        if getattr(self, "ym_keys", None) is not None:  # a HUP: re-read the keys file
            try:
                self.ym_keys = _load_keys(c)
            except Exception as err:  # anything: an exception here would stop the master
                reason = str(err) or type(err).__name__
                log.error("keys file not reloaded, keeping the previous keys: %s", reason)
        if c.log_format == "json":
            settings["logger_class"] = _JsonGunicornLogger
        if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 27
            settings["control_socket_disable"] = True
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from youthmode.api import create_app
        from youthmode.server.body_guard import BodyGuard

        app = create_app(self.ym_config, keys=self.ym_keys)
        return BodyGuard(app, self.ym_config.max_body_bytes)


def main_serve(config: ServerConfig) -> int:
    from youthmode.server import logs

    logs.configure(config.log_format)
    try:
        serve(config)
    except RefusedToServe as err:
        print(f"youthmode: {err.code}", file=sys.stderr)
        return 2
    except ValueError as err:  # a bad keys file or default policy: refuse cleanly
        print(f"youthmode: cannot serve: {err}", file=sys.stderr)
        return 2
    return 0
