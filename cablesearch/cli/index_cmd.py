"""``cablesearch index``: bring the index up to date with files, folders and cables.csv files."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

import click

from ..alerts import after_commit
from ..index.rebuild import rebuild as rebuild_index
from ..index.store import CableIndex, LockHolder
from ..index.sync import COMMIT_EVERY, Syncer, SyncProgress, SyncReport, counts_line
from . import get_config


class ProgressLine:
    """A one-line progress display with rate and ETA, redrawn at most 10 times a second.
    Only used when stderr is a terminal."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, p: SyncProgress) -> None:
        now = time.monotonic()
        if now - self.last < 0.1 and p.bytes_done < p.bytes_total:
            return
        self.last = now
        frac = min(p.bytes_done / p.bytes_total, 1.0) if p.bytes_total else 1.0
        rate = p.cables / p.elapsed if p.elapsed > 0 else 0.0
        eta = (p.elapsed / frac - p.elapsed) if frac > 0.001 else None
        width = 24
        filled = int(frac * width)
        bar = "#" * filled + "-" * (width - filled)
        eta_text = time.strftime("%H:%M:%S", time.gmtime(eta)) if eta is not None else "--:--:--"
        self.stream.write(f"\r[{bar}] {frac:4.0%}  {p.cables:,} cables  {rate:,.0f}/s  ETA {eta_text} ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()


SHOWN_CONFLICTS = 20  # conflict lines printed by one run; `cablesearch conflicts` lists all


def _print_conflicts(report: dict[str, Any]) -> None:
    """Name each ID whose files give different texts (on stderr, like rejections; the first
    ones), and count the IDs whose files give the same text (copies), from a report's dict."""
    listed = report.get("conflicts") or []
    total = int(report.get("conflict_count") or len(listed))
    for c in listed[:SHOWN_CONFLICTS]:
        click.echo(f"conflict: {c.get('message', c.get('reference_id'))}", err=True)
    if total > min(len(listed), SHOWN_CONFLICTS):
        click.echo(
            f"conflict: ... and {total - min(len(listed), SHOWN_CONFLICTS)} more "
            "(`cablesearch conflicts` lists them all)",
            err=True,
        )
    copies = int(report.get("copy_count") or 0)
    if copies:
        click.echo(
            f"{copies} reference ID{'s are' if copies != 1 else ' is'} given by several files with the "
            "same text (copies, one indexed; `cablesearch conflicts --copies` lists them)",
            err=True,
        )


def _print_report(report: SyncReport) -> None:
    for err in report.rejected:
        click.echo(f"rejected: {err}", err=True)
    _print_conflicts(report.to_dict())
    click.echo(report.summary())


def _hand_to_daemon(index_dir: Path, paths: tuple[Path, ...], prune: bool, timeout: float) -> bool:
    """DAEMON HAND-OFF: if an indexing daemon keeps this index current, give it the paths
    instead of fighting it for the write lock, and show its report. False when none runs."""
    try:
        from cablesearch.daemon import client as daemon
    except ImportError:
        return False
    info = daemon.find_running(index_dir)
    if info is None:
        return False
    handoff = daemon.hand_off(index_dir, list(paths), prune)
    click.echo(
        f"An indexing daemon (pid {info.pid}) keeps {index_dir} current; "
        f"handed {handoff.count} path(s) to it. Waiting for its report...",
        err=True,
    )
    progress = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    fields = ("bytes_done", "bytes_total", "cables", "files_done", "files_total", "elapsed")

    def show(data: dict[str, Any]) -> None:
        # the daemon's progress, drawn as this command draws its own sync's
        if progress is not None:
            try:
                progress(SyncProgress(**{k: data[k] for k in fields}))
            except (KeyError, TypeError, ZeroDivisionError):
                pass

    try:
        report = handoff.wait(timeout=max(timeout, 600.0), on_progress=show)
    finally:
        if progress is not None:
            progress.close()
    if report is None:
        click.echo(
            "The daemon has not finished yet; it goes on in the background (see `cablesearch status`).",
            err=True,
        )
        return True
    rejected = report.get("rejected") or []  # "path: reason" lines
    for item in rejected:
        click.echo(f"rejected: {item}", err=True)
    _print_conflicts(report)
    count = {
        k: int(report.get(k, 0) or 0) for k in ("added", "updated", "unchanged", "removed", "duplicates")
    }
    click.echo(counts_line(rejected=len(rejected), **count))
    if rejected:
        sys.exit(1)
    return True


def _rebuild(index_dir: Path, config: Any, paths: tuple[Path, ...]) -> None:
    progress: Any = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    try:
        result = rebuild_index(index_dir, config, list(paths), progress=progress)
    finally:
        if progress is not None:
            progress.close()
    for path in result.missing:
        click.echo(f"missing: {path} (listed in the old manifest, no longer on disk)", err=True)
    _print_report(result.sync)
    click.echo(f"rebuilt {index_dir} from {result.sources - len(result.missing)} source file(s)")
    if result.sync.rejected or result.missing:
        sys.exit(1)


@click.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--prune", is_flag=True, help="Also remove the cables of files under PATHS that no longer exist."
)
@click.option(
    "--procs",
    type=int,
    default=None,
    help="Worker processes for parsing and analysis (default: setting procs).",
)
@click.option(
    "--lock-timeout",
    type=float,
    default=None,
    help="Seconds to wait for another writer to finish (default: setting lock_timeout).",
)
@click.option(
    "--commit-every",
    type=click.IntRange(min=1),
    default=COMMIT_EVERY,
    show_default=True,
    help="Commit (make searchable, and safe from Ctrl-C) after this many cables. Each commit "
    "makes one segment: fewer, bigger ones answer queries faster, and hold ~25 MB per 1,000 "
    "cables in memory until written.",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Build the index afresh beside the old one from the files its manifest lists (and "
    "PATHS), then swap it in; for a damaged index (see `cablesearch check`).",
)
@click.pass_context
def index_command(
    ctx: click.Context,
    paths: tuple[Path, ...],
    prune: bool,
    procs: int | None,
    lock_timeout: float | None,
    commit_every: int,
    rebuild: bool,
) -> None:
    """Index cable files, folders (recursively) and cables.csv files.

    Incremental: files whose size and modification time (or content) are unchanged since the
    last run are skipped; changed ones are re-read. A reference ID found in several files is
    indexed from the most recently released text. Each file that is no cable is named with the
    reason, and the exit status is then 1. Ctrl-C keeps everything committed so far.

    Example:

        cablesearch index samples/ cables.csv --prune

        cablesearch index --rebuild
    """
    config = get_config(ctx, procs=procs, lock_timeout=lock_timeout)
    index_dir = config.index_dir
    if rebuild:
        _rebuild(index_dir, config, paths)
        return
    if not paths:
        raise click.UsageError("give the files or folders to index (or --rebuild)")
    if _hand_to_daemon(index_dir, paths, prune, config.lock_timeout):
        return
    index = CableIndex.open(index_dir, create=True)

    def on_wait(holder: LockHolder | None) -> None:
        who = f"pid {holder.pid}" if holder else "another process"
        click.echo(f"waiting for the index lock held by {who} (up to {config.lock_timeout:g}s)...", err=True)

    progress: Any = ProgressLine(sys.stderr) if sys.stderr.isatty() else None
    syncer = Syncer(index, config, on_wait=on_wait, commit_every=commit_every)
    try:
        report = syncer.sync_paths(paths, prune=prune, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    _print_report(report)
    # ALERTS: evaluate the saved searches on what this run committed (never raises)
    after_commit(index, config, log=lambda line: click.echo(line, err=True))
    if report.rejected:
        sys.exit(1)


COMMANDS: list[click.Command] = [index_command]
