"""``cablesearch serve``: the web interface and JSON API under uvicorn, optionally with the
indexing daemon in the same process (``--watch``), so that one process is the only writer."""

from __future__ import annotations

import errno
import json
import os
import socket
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from ..config import Config
from ..errors import CablesearchError
from . import get_config

# How `serve --workers N` hands the resolved settings to its worker processes (which uvicorn
# starts afresh, importing worker_app): JSON in this environment variable, set by the parent.
WORKER_SETTINGS_ENV = "CABLESEARCH_SERVE_WORKER_SETTINGS"


class ServeError(CablesearchError):
    """The server cannot start (the address is taken or cannot be bound)."""

    exit_code = 1


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, or a ServeError saying why not (port taken...)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ServeError(
            f"cannot bind to host {host!r}: {exc.strerror}; use an address such as 127.0.0.1"
        ) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use (is another cablesearch "
                f"running?); stop it or choose another port with --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ServeError(
                f"not allowed to listen on port {port} on {host}; choose a port above 1023 with --port"
            ) from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock


def display_url(host: str, port: int) -> str:
    shown = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def worker_app() -> Any:
    """The app of one `serve --workers N` worker process (a uvicorn app factory)."""
    from ..web.app import create_app

    data = json.loads(os.environ[WORKER_SETTINGS_ENV])
    settings = data["config"]
    settings["index_dir"] = Path(settings["index_dir"])
    settings["watch_dirs"] = tuple(Path(p) for p in settings["watch_dirs"])
    return create_app(Config(**settings), watching=data["watching"])


def _settings_json(config: Config, watching: bool) -> str:
    settings = asdict(config)
    settings["index_dir"] = str(config.index_dir)
    settings["watch_dirs"] = [str(p) for p in config.watch_dirs]
    return json.dumps({"config": settings, "watching": watching})


@click.command("serve")
@click.option(
    "--host", default=None, help="Address to bind (default: setting host, 127.0.0.1: this machine only)."
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default: setting port, 8080; 0 picks a free one).",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Also run the indexing daemon in this process, watching DIR... (default: "
    "setting watch_dirs), so new cables appear while the page is open.",
)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Server processes answering requests (default: setting workers, 2). "
    "Searching is CPU-bound Python, so about one per core; the daemon (--watch) "
    "still runs once, in the main process.",
)
@click.argument("dirs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def serve(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    watch: bool,
    workers: int | None,
    dirs: tuple[Path, ...],
) -> None:
    """Serve the search pages and the JSON API.

    Pages: / (search), /cable/ID, /browse. API: /api/search, /api/cables/ID, /api/facets,
    /api/stats, described at /openapi.json. Ctrl-C stops the server (and the daemon).

    \b
    Example:
        cablesearch serve --host 127.0.0.1 --port 8080 --watch samples
    """
    import uvicorn

    from ..web.app import create_app

    if dirs and not watch:
        raise click.UsageError("folders are only taken with --watch (cablesearch serve --watch DIR...)")
    config = get_config(ctx, host=host, port=port, workers=workers)
    workers = config.workers
    if workers < 1:
        raise click.BadParameter(
            f"{workers} is not a number of processes; give 1 or more",
            param_hint="--workers / setting workers",
        )
    daemon = None
    roots: tuple[Path, ...] = ()
    if watch:
        roots = tuple(dirs) or tuple(config.watch_dirs)
        missing = [str(r) for r in roots if not r.is_dir()]
        if missing:
            raise click.BadParameter(f"not a folder: {', '.join(missing)}", param_hint="DIR")
        from ..daemon.service import Daemon

        daemon = Daemon(config, list(roots))
    sock = bind_socket(config.host, config.port)
    actual_port = sock.getsockname()[1]
    common: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 5,
    }
    if workers > 1:
        from uvicorn.supervisors import Multiprocess

        os.environ[WORKER_SETTINGS_ENV] = _settings_json(config, watching=daemon is not None)
        uconfig = uvicorn.Config(
            "cablesearch.cli.serve_cmd:worker_app", factory=True, workers=workers, **common
        )
    else:
        uconfig = uvicorn.Config(create_app(config, daemon=daemon, start_daemon=False), **common)
    server = uvicorn.Server(uconfig)
    try:
        if daemon is not None:
            daemon.start()  # here, not in the app's lifespan: a failure is one "Error:" line
        click.echo(
            f"cablesearch serving {config.index_dir} on "
            f"{display_url(config.host, actual_port)}"
            + (f" (watching {', '.join(str(r) for r in roots)})" if roots else "")
            + (f" with {workers} worker processes" if workers > 1 else "")
            + "  — Ctrl-C stops"
        )
        try:
            if workers > 1:
                Multiprocess(uconfig, sockets=[sock]).run()
            else:
                server.run(sockets=[sock])
        finally:
            if daemon is not None:
                daemon.stop()
    finally:
        sock.close()
    if workers == 1 and getattr(server, "started", True) is False:
        raise ServeError("the server did not start; see the messages above")


COMMANDS: list[click.Command] = [serve]
