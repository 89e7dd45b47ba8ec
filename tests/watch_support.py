"""Helpers for the daemon tests: a fast generator of distinct real-looking cables (from the page
files in tests/data, with the reference ID rewritten) and condition polling."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
_ID = re.compile(r"^(\d\d)([A-Z]+?)(\d+)$")
_ROW = re.compile(r"^(?P<id>\w+) \| (?P<created>[\d\- :]+) \| (?P<released>[\d\- :]+) \|", re.MULTILINE)


class CableMaker:
    """Distinct cables from the 41 page files of tests/data: cable ``n`` is template
    ``n % 41`` with its reference ID's number replaced by ``800000 + n``."""

    def __init__(self) -> None:
        self.templates: list[tuple[str, str]] = []
        for path in sorted((DATA / "page").glob("*.txt")):
            ref = path.stem
            if _ID.match(ref):
                self.templates.append((ref, path.read_text(encoding="utf-8")))

    def ref(self, n: int) -> str:
        old = self.templates[n % len(self.templates)][0]
        m = _ID.match(old)
        assert m
        return f"{m.group(1)}{m.group(2)}{800000 + n}"

    def text(self, n: int, released: str | None = None, marker: str = "") -> str:
        """The page text of cable ``n``; ``released`` ('YYYY-MM-DD HH:MM') overrides the release
        date; ``marker`` is added to the body (a word to search for)."""
        old, text = self.templates[n % len(self.templates)]
        text = text.replace(old, self.ref(n))
        if released:
            text = _ROW.sub(lambda m: f"{m['id']} | {m['created']} | {released} |", text, count=1)
        if marker:
            text = text.rstrip("\n") + f"\n\n99. {marker}\n"
        return text

    def write(self, folder: Path, n: int, name: str | None = None, **kw: str) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (name or f"{self.ref(n)}.txt")
        path.write_text(self.text(n, **kw), encoding="utf-8")
        return path

    def burst(self, folder: Path, start: int, count: int, per_dir: int = 500) -> list[str]:
        """Write ``count`` cables quickly under ``folder`` (subfolders of ``per_dir`` files);
        returns their reference IDs."""
        refs = []
        for i in range(start, start + count):
            sub = folder / f"b{(i - start) // per_dir:03d}"
            if (i - start) % per_dir == 0:
                sub.mkdir(parents=True, exist_ok=True)
            ref = self.ref(i)
            fd = os.open(sub / f"{ref}.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, self.text(i).encode("utf-8"))
            finally:
                os.close(fd)
            refs.append(ref)
        return refs


def wait_until(
    predicate: Callable[[], object], timeout: float = 20.0, interval: float = 0.02, message: str = ""
) -> None:
    """Poll ``predicate`` until truthy; fail the test with ``message`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message or predicate}")
        time.sleep(interval)
