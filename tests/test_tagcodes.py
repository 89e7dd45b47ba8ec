"""The shipped tag-code table: describe_tag, tag_label, and that the table covers the shared
vocabulary lists it was built from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.index.store import CableIndex
from cablesearch.vocab import KINDS, SOURCES, describe_tag, lookup, table, tag_label


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("PREL", "External Political Relations"),
        ("PGOV", "Internal Governmental Affairs"),
        ("PTER", "Terrorists and Terrorism"),
        ("LY", "Libya"),
        ("IZ", "Iraq"),
        ("RS", "Russia"),
        ("UK", "United Kingdom"),
        ("NATO", "North Atlantic Treaty Organization"),
        ("KNNP", "Nuclear Nonproliferation"),
        ("XM", "Latin America"),
        ("EU", "European Union"),  # the cables' usage, not FIPS "Europa Island"
        ("AEROFLOT", "organization"),  # known by code only
    ],
)
def test_describe_tag(code: str, expected: str) -> None:
    assert describe_tag(code) == expected


def test_lookup_ignores_case_and_spaces() -> None:
    info = lookup("  prel ")
    assert info is not None and info.code == "PREL" and info.kind == "subject"
    assert describe_tag("ly") == "Libya"


def test_unknown_codes() -> None:
    assert describe_tag("ZZZZ") is None
    assert describe_tag("") is None
    assert tag_label("ZZZZ") == "ZZZZ"


def test_tag_label() -> None:
    assert tag_label("PREL") == "PREL (External Political Relations)"
    assert tag_label("LY") == "LY (Libya)"


def test_every_entry_names_its_kind_and_source() -> None:
    sources = set(SOURCES.values())
    for code, info in table().items():
        assert info.code.upper() == code == code.strip().upper()
        assert info.kind in KINDS and info.source in sources
        assert info.to_json() == {
            "code": info.code,
            "kind": info.kind,
            "name": info.name,
            "source": info.source,
        }


def test_subject_codes_all_have_names() -> None:
    subjects = [i for i in table().values() if i.kind == "subject"]
    assert len(subjects) == 96 and all(i.name for i in subjects)


def test_fips_countries() -> None:
    countries = {c: i.name for c, i in table().items() if i.kind == "country"}
    assert len(countries) > 250
    # FIPS differs from ISO 3166 here: these are the codes the cables use
    assert countries["GM"] == "Germany" and countries["SP"] == "Spain" and countries["CH"] == "China"
    assert countries["KS"] == "South Korea" and countries["KN"] == "North Korea"


def test_table_covers_the_shared_vocab_lists(shared_corpus: Path) -> None:
    vocab = shared_corpus.parent / "vocab"
    for name, kind in (("subject-tags.txt", "subject"), ("organization-tags.txt", "organization")):
        codes = [
            line.strip() for line in (vocab / name).read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        missing = [c for c in codes if lookup(c) is None]
        assert not missing, f"{name}: {missing[:5]}"
        if kind == "subject":
            assert all(lookup(c).kind == "subject" for c in codes)  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("tags") / "index"
    ix = CableIndex.open(path)
    with ix.writer(timeout=10) as w:
        for c in parse.iter_cables([data_dir / "html"]):
            w.put(c)
    return path


def _run(index_dir: Path, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["--config", "/dev/null", "--index", str(index_dir), *args])


def test_show_explains_tags(index_dir: Path) -> None:
    r = _run(index_dir, "show", "04MADRID4063")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("Tags:"))
    assert "PREL (External Political Relations)" in line and "SP (Spain)" in line
    # --json is unchanged: the bare codes
    assert "PREL" in json.loads(_run(index_dir, "show", "04MADRID4063", "--json").output)["tags"]


def test_search_tag_facet_explains_codes(index_dir: Path) -> None:
    r = _run(index_dir, "search", "--tag", "PREL")
    assert r.exit_code == 0, r.output
    line = next(x for x in r.output.splitlines() if x.startswith("tag: "))
    total = int(r.output.split(" ", 1)[0].replace(",", ""))
    assert line.startswith(f"tag: PREL (External Political Relations) {total:,}")
    facets = json.loads(_run(index_dir, "search", "--tag", "PREL", "--json").output)["facets"]
    assert facets["tag"][0] == ["PREL", total]
