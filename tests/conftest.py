"""Shared fixtures. Real cables for tests live in tests/data/ (41 public cables in all four forms,
with their truth lines); tests over the whole ../shared corpus skip where it is absent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
SHARED = ROOT.parent / "shared"
SHARED_CORPUS = SHARED / "corpus" / "cablegate"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: html/, page/, telegram/, cables.csv and truth.jsonl for 41 real cables."""
    return DATA


@pytest.fixture(scope="session")
def data_truth() -> dict[str, dict]:
    with open(DATA / "truth.jsonl", encoding="utf-8") as f:
        return {t["reference_id"]: t for t in map(json.loads, f)}


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """../shared/corpus/cablegate, all 364 real cables; skips where ../shared is absent."""
    if not SHARED_CORPUS.is_dir():
        pytest.skip(
            "../shared/corpus/cablegate is absent (it is there in CI); "
            "this test runs over the whole shared corpus"
        )
    return SHARED_CORPUS
