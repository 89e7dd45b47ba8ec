"""Text of the real cables in tests/data, for tests that need phrases that occur."""

from __future__ import annotations

import re
from pathlib import Path

from cablesearch import parse


def adjacent_words(data_dir: Path, every: int) -> list[str]:
    """Two and three words standing together in the cables' bodies (phrases that match), one
    every ``every`` words of each body's first 400."""
    out = []
    for c in sorted(parse.iter_cables([data_dir / "html"]), key=lambda c: c.reference_id):
        words = re.findall(r"[A-Za-z]{3,}", c.body)[:400]
        out.extend(" ".join(words[i : i + 2 + i % 2]) for i in range(0, len(words) - 3, every))
    return out
