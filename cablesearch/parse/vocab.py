"""The vocabularies the telegram readers need, read once from the files shipped in
``cablesearch/parse/data`` (their sources are in ``data/SOURCES.md``).

- ``codes()``: every one-word TAGS code (subject, program, organization and country codes);
- ``multiword()``: multi-word tags as written (``("HUMAN", "RIGHTS")``) → the tag;
- ``station(route)``: the station a routing indicator names (``RUEHFR`` → ``AMEMBASSY PARIS``).
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

__all__ = ["codes", "country_codes", "glue_codes", "multiword", "station"]


def _lines(name: str) -> list[str]:
    text = resources.files("cablesearch.parse").joinpath("data", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@cache
def country_codes() -> frozenset[str]:
    """The two-letter country and regional codes (FIPS 10-4)."""
    return frozenset(code for line in _lines("country-codes.txt") for code in line.split())


@cache
def codes() -> frozenset[str]:
    """Every known one-word TAGS code, upper case."""
    words: set[str] = set(country_codes())
    for name in ("subject-tags.txt", "program-tags.txt", "organization-tags.txt"):
        words.update(w.upper() for w in _lines(name) if " " not in w)
    return frozenset(words)


@cache
def glue_codes() -> frozenset[str]:
    """The codes that glued TAGS are split into: subject, program and country codes."""
    words: set[str] = set(country_codes())
    for name in ("subject-tags.txt", "program-tags.txt"):
        words.update(w.upper() for w in _lines(name) if " " not in w)
    return frozenset(words)


@cache
def multiword() -> dict[tuple[str, ...], str]:
    """Multi-word tags by their words: ``("HUMAN", "RIGHTS")`` → ``"HUMAN RIGHTS"``."""
    out: dict[tuple[str, ...], str] = {}
    for line in _lines("multiword-tags.txt"):
        written, _, tag = line.partition("=")
        words = tuple(written.split())
        out[words] = tag.strip() or " ".join(words)
    for line in _lines("organization-tags.txt"):
        if " " in line:
            out[tuple(line.upper().split())] = line.upper()
    return out


@cache
def _routes() -> dict[str, str]:
    text = resources.files("cablesearch.parse").joinpath("data", "route2name.csv").read_text(encoding="utf-8")
    return {row[0].strip(): row[1].strip() for row in csv.reader(text.splitlines()) if len(row) >= 2}


def station(route: str) -> str:
    """The station a routing indicator names (``RUEHFR`` → ``AMEMBASSY PARIS``), or ""."""
    return _routes().get(route.strip().upper(), "")
