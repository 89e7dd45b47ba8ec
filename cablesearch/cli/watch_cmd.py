"""``cablesearch watch`` (the indexing daemon, in the foreground) and ``cablesearch status``."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from . import get_config


class _OneLine(logging.Formatter):
    """One line per record: a timestamp on a terminal, none under systemd (journald adds it)."""

    def __init__(self, timestamps: bool):
        super().__init__()
        self.timestamps = timestamps

    def format(self, record: logging.LogRecord) -> str:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        if record.exc_info:
            text += " | " + self.formatException(record.exc_info).replace("\n", " | ")
        if self.timestamps:
            text = time.strftime("%Y-%m-%d %H:%M:%S ", time.localtime(record.created)) + text
        return text


def _setup_logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLine(timestamps="JOURNAL_STREAM" not in os.environ))
    logger = logging.getLogger("cablesearch")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False


@click.command("watch")
@click.argument("dirs", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--poll", is_flag=True, help="Poll the folders instead of using inotify (network file systems)."
)
@click.option(
    "--settle-seconds",
    type=float,
    default=None,
    help="Index a changed file once its size and mtime are stable this long.",
)
@click.option(
    "--batch-seconds",
    type=float,
    default=None,
    help="Longest a batch waits for files still settling before it commits.",
)
@click.option(
    "--rescan-seconds",
    type=float,
    default=None,
    help="Re-scan the folders this often (0: never) to catch lost events.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log more (each scan, each hand-off).")
@click.pass_context
def watch(
    ctx: click.Context,
    dirs: tuple[Path, ...],
    poll: bool,
    settle_seconds: float | None,
    batch_seconds: float | None,
    rescan_seconds: float | None,
    verbose: bool,
) -> None:
    """Keep the index current with DIR... (default: setting watch_dirs), in the foreground.

    On start it catches up with what changed while it was down (unchanged files are not
    read again), then follows the folders recursively: new, changed, moved and deleted
    files and folders. A file is indexed once it is complete; a burst becomes a few
    commits. One line per batch goes to stderr. SIGTERM or Ctrl-C finishes the batch in hand
    and exits 0; SIGHUP re-scans. While it runs, `cablesearch index` hands its paths to it.

    \b
    Example:
        cablesearch watch samples incoming
        cablesearch watch --poll /mnt/share/cables
    """
    from ..daemon.service import Daemon

    config = get_config(
        ctx, settle_seconds=settle_seconds, batch_seconds=batch_seconds, rescan_seconds=rescan_seconds
    )
    _setup_logging(verbose)
    Daemon(config, list(dirs) or None, poll=poll).run()


def _ago(ts: float | None) -> str:
    if not ts:
        return "never"
    seconds = max(0.0, time.time() - ts)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    if seconds < 120:
        return f"{when} ({seconds:.0f} s ago)"
    if seconds < 7200:
        return f"{when} ({seconds / 60:.0f} min ago)"
    return f"{when} ({seconds / 3600:.1f} h ago)"


def render_status(info_running: bool, status: dict[str, Any] | None, index_dir: Path) -> str:
    """The text of `cablesearch status` for a status dict (None: the daemon never ran here)."""
    if status is None:
        return (
            f"daemon: not running (no daemon has run for the index {index_dir})\n"
            "start it with `cablesearch watch`"
        )
    lines = []
    pid = status.get("pid", "?")
    if info_running:
        lines.append(
            f"daemon: running (pid {pid}, {status.get('observer', '?')}, since "
            f"{_ago(status.get('started_at'))}), {status.get('state', '?')}"
        )
    else:
        how = (
            "stopped"
            if status.get("state") in ("stopped", "failed")
            else "did not stop cleanly (killed?); its next start catches up"
        )
        lines.append(
            f"daemon: not running (last pid {pid} {how}; last status {_ago(status.get('updated_at'))})"
        )
    lines.append(f"index: {status.get('index_dir', index_dir)}")
    lines.append("watching: " + (", ".join(status.get("roots", [])) or "-"))
    lines.append(
        f"queue: {status.get('queue', 0)} paths waiting, {status.get('in_batch', 0)} in "
        f"the batch being written, {status.get('inbox', 0)} hand-off requests"
    )
    last = status.get("last_commit")
    if last:
        lines.append(
            f"last commit: {_ago(last.get('at'))}: {last.get('kind')} of "
            f"{last.get('files', 0)} files -> {last.get('added', 0)} added, "
            f"{last.get('updated', 0)} updated, {last.get('removed', 0)} removed, "
            f"{last.get('rejected', 0)} rejected in {last.get('seconds', 0):.2f} s"
        )
    else:
        lines.append("last commit: none since start")
    totals = status.get("totals", {})
    count = status.get("doc_count")
    lines.append(
        f"counts: {count if count is not None else '?'} cables in the index; since start "
        f"{totals.get('added', 0)} added, {totals.get('updated', 0)} updated, "
        f"{totals.get('removed', 0)} removed, {totals.get('rejected', 0)} rejected "
        f"in {totals.get('batches', 0)} commits"
    )
    errors = status.get("recent_errors", [])
    if errors:
        lines.append(f"recent errors ({len(errors)}):")
        for err in errors[-10:]:
            at = time.strftime("%H:%M:%S", time.localtime(err.get("at", 0)))
            where = f"{err['path']}: " if err.get("path") else ""
            lines.append(f"  {at} {where}{err.get('message', '')}")
    else:
        lines.append("recent errors: none")
    conflicts = status.get("recent_conflicts", [])
    if conflicts:
        lines.append(
            f"recent conflicts ({len(conflicts)}; the index keeps one text, "
            "`cablesearch conflicts` lists them all):"
        )
        for c in conflicts[-10:]:
            at = time.strftime("%H:%M:%S", time.localtime(c.get("at", 0)))
            lines.append(f"  {at} {c.get('message', c.get('reference_id', ''))}")
    return "\n".join(lines)


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Show whether the indexing daemon runs for this index, and how it is doing.

    Prints its pid, the folders it watches, the queue length, the last commit, counts and
    recent errors. Exit status: 0 when a daemon runs, 3 when none does.

    \b
    Example:
        cablesearch status
        cablesearch --index /srv/cables/index status --json
    """
    from ..daemon.client import find_running, read_status

    config = get_config(ctx)
    index_dir = Path(config.index_dir)
    info = find_running(index_dir)
    data = info.status if info is not None and info.status else read_status(index_dir)
    if as_json:
        click.echo(
            json.dumps(
                {"running": info is not None, "pid": info.pid if info else None, "status": data},
                indent=1,
                sort_keys=True,
            )
        )
    else:
        click.echo(render_status(info is not None, data, index_dir))
    ctx.exit(0 if info is not None else 3)


COMMANDS: list[click.Command] = [watch, status]
