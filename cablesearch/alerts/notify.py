"""Alert commands: a shell command per saved search (setting ``alert_commands``) that gets
the new matches as JSON on stdin.

Run after the matches are recorded, with a time limit (setting ``alert_command_timeout``). A
match is marked as given to the command only when the command exited with status 0, so a
command that fails or times out gets the same matches again (with any newer ones) after the
next commit: delivery is at least once. A failure is one line in the log and never stops
indexing.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

from cablesearch.config import Config

from .store import AlertStore, Match


def payload(name: str, matches: list[Match]) -> str:
    """The JSON a command reads: ``{"alert": NAME, "count": N, "matches": [...]}``."""
    return json.dumps(
        {"alert": name, "count": len(matches), "matches": [m.to_json() for m in matches]}, ensure_ascii=False
    )


def run_command(command: str, stdin: str, timeout: float) -> str | None:
    """Run one shell command with ``stdin``; None when it succeeded, else why not (one line)."""
    try:
        proc = subprocess.run(
            command,
            shell=True,
            input=stdin.encode("utf-8"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"did not finish within {timeout:g}s (setting alert_command_timeout); it was stopped"
    except OSError as exc:
        return f"could not be started ({exc})"
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        tail = f": {err[-1][:200]}" if err else ""
        return f"exited with status {proc.returncode}{tail}"
    return None


def notify_pending(store: AlertStore, config: Config, log: Callable[[str], None]) -> int:
    """Give every alert command its matches not yet given; returns how many were given."""
    commands = dict(config.alert_commands)
    if not commands:
        return 0
    given = 0
    for name, matches in store.unnotified().items():
        command = commands.get(name)
        if not command:
            continue
        problem = run_command(command, payload(name, matches), config.alert_command_timeout)
        if problem is not None:
            log(
                f"alert {name}: command {command!r} {problem}; its {len(matches)} match(es) are offered again next time"
            )
            continue
        store.mark_notified(name, [m.reference_id for m in matches])
        given += len(matches)
    return given
