"""People (issue 13.2): names read from real cables, the normaliser's properties, merging of
spellings, the person field and facet, the profile and the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from cablesearch import parse
from cablesearch.cli import main
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.model import Cable
from cablesearch.people import cable_people, fold_names, name_in_text, normalise_name, surname
from cablesearch.results import SearchRequest
from cablesearch.search.person import PersonAmbiguous, PersonNotFound
from cablesearch.search.service import SearchService

# -- reading names ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Ambassador Gene A. Cretz for reasons 1.4 (b) and (d)", "CRETZ, GENE A."),
        ("AMBASSADOR WILLIAM R. BROWNFIELD", "BROWNFIELD, WILLIAM R."),
        ("William R. Brownfield, Ambassador", "BROWNFIELD, WILLIAM R."),
        ("Ambassador Clark T. Randt, Jr", "RANDT, CLARK T."),
        ("S/CT DAS, Susan F. Burk", "BURK, SUSAN F."),
        ("Charge d’Affaires Daniel L. Shields", "SHIELDS, DANIEL L."),
        ("Amb. P Michael McKinley", "MCKINLEY, P. MICHAEL"),
        ("ISN/MTR DIRECTOR PAM DURHAM", "DURHAM, PAM"),
        ("ConGen Istanbul Deputy Principal Officer Win Dayton; Rea son", "DAYTON, WIN"),
        ("Political Minister-Counselor Kathleen H. Allegrone, reas ons", "ALLEGRONE, KATHLEEN H."),
        ("A", None),
        ("NARA 09/02/2009 TAGS: EFIS PBTS AR SUBJECT: EXTENDED NATIONAL JURISDICTIONS", None),
    ],
)
def test_name_in_classified_by(text: str, name: str | None) -> None:
    assert name_in_text(text) == name


def test_people_of_real_cables(data_dir: Path) -> None:
    cables = {c.reference_id: c for c in parse.iter_cables([data_dir / "telegram"])}
    singapore = cables["09SINGAPORE529"]
    assert [(m.name, m.role) for m in cable_people(singapore)] == [
        ("SHIELDS", "signer"),
        ("SHIELDS, DANIEL L.", "classified by"),
        ("STEINBERG, JAMES B.", "tag"),
    ]
    caracas = cable_people(cables["06CARACAS1276"])
    assert {m.name for m in caracas} == {"BROWNFIELD", "BROWNFIELD, WILLIAM R."}
    named = [c for c in cables.values() if cable_people(c)]
    assert len(named) >= len(cables) * 0.8  # most real cables name a signer or classifier


# -- the normaliser ---------------------------------------------------------------------------

_words = st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyzé.,'- "), max_size=40)


@given(_words)
def test_normalise_is_idempotent_and_never_empty(text: str) -> None:
    name = normalise_name(text)
    if name is not None:
        assert name.strip() and sum(ch.isalpha() for ch in surname(name)) >= 2
        assert normalise_name(name) == name


@given(
    st.sampled_from(["BURNS", "Burns", "burns"]), st.sampled_from(["William J.", "WILLIAM J", "william j."])
)
def test_spellings_of_one_name_agree(sur: str, given_names: str) -> None:
    assert normalise_name(f"{given_names} {sur}") == "BURNS, WILLIAM J."
    assert normalise_name(f"{sur}, {given_names}") == "BURNS, WILLIAM J."
    assert normalise_name(f"Ambassador {given_names} {sur}") == "BURNS, WILLIAM J."


_names = st.sampled_from(
    [
        "BURNS",
        "BURNS, W.",
        "BURNS, WILLIAM",
        "BURNS, WILLIAM J.",
        "BURNS, WALTER",
        "BYRNES",
        "BYRNES, W.",
        "CRETZ",
    ]
)


@given(
    st.lists(
        st.tuples(_names, st.sampled_from(["Cairo", "Moscow"]), st.sampled_from([2008, 2009])), max_size=12
    )
)
def test_folding_never_merges_different_surnames(entries: list[tuple[str, str, int]]) -> None:
    folded = fold_names(entries)
    assert set(folded) == set(entries)
    for (name, _, _), into in folded.items():
        assert surname(into) == surname(name)
        assert fold_names([(into, "Cairo", 2008)]) == {(into, "Cairo", 2008): into}


def test_folding_follows_the_evidence() -> None:
    entries = [
        ("BURNS", "Moscow", 2008),
        ("BURNS, WILLIAM J.", "Moscow", 2008),
        ("BURNS, W.", "Cairo", 2009),
        ("BURNS", "Cairo", 2009),  # no fuller Burns at Cairo in 2009 but W.: merges with W.'s
        ("BURNS", "Paris", 2009),  # nobody fuller at Paris in 2009: stays
        ("SMITH, J.", "Rome", 2009),
        ("SMITH, JOHN", "Rome", 2009),
        ("SMITH, JANE", "Rome", 2009),
        ("SMITH", "Rome", 2009),  # two fuller Smiths there: stays
    ]
    f = fold_names(entries)
    assert f[("BURNS", "Moscow", 2008)] == "BURNS, WILLIAM J."
    assert f[("BURNS, W.", "Cairo", 2009)] == "BURNS, WILLIAM J."
    assert f[("BURNS", "Cairo", 2009)] == "BURNS, WILLIAM J."
    assert f[("BURNS", "Paris", 2009)] == "BURNS"
    assert f[("SMITH, J.", "Rome", 2009)] == "SMITH, J."  # JOHN or JANE: no merge
    assert f[("SMITH", "Rome", 2009)] == "SMITH"


# -- the index --------------------------------------------------------------------------------


def _cable(rid: str, origin: str, year: int, **kw: object) -> Cable:
    return Cable(
        reference_id=rid, origin=origin, created=datetime(year, 3, 1), subject=rid, body="talks", **kw
    )  # type: ignore[arg-type]


MADE = [
    _cable(
        "08MOSCOW1", "Embassy Moscow", 2008, signers=["BURNS"], classified_by="Ambassador William J. Burns"
    ),
    _cable("08MOSCOW2", "Embassy Moscow", 2008, signers=["BURNS"]),
    _cable("09PARIS1", "Embassy Paris", 2009, signers=["BURNS"]),
    _cable("09STATE1", "Secretary of State", 2009, tags=["OVIP", "BURNS, WILLIAM J.", "PREL"]),
    _cable("09ROME1", "Embassy Rome", 2009, classified_by="PolOff Nicholas Burns for reasons 1.4 (d)"),
]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchService]:
    ix = CableIndex.open(tmp_path_factory.mktemp("people"))
    with ix.writer(timeout=10) as w:
        for c in MADE:
            w.put(c)
    with SearchService(ix, Config()) as svc:
        yield svc


def _ids(svc: SearchService, **kw: object) -> set[str]:
    return {h.reference_id for h in svc.search(SearchRequest(page_size=50, **kw)).hits}  # type: ignore[arg-type]


def test_person_queries_and_filter(made: SearchService) -> None:
    everyone = {c.reference_id for c in MADE}
    assert _ids(made, query="person:burns") == everyone
    assert _ids(made, query="person:BURNS") == everyone
    assert _ids(made, query='person:"William J. Burns"') == {"08MOSCOW1", "09STATE1"}
    # the filter uses the merged people: the signer BURNS at Moscow in 2008 is William J.
    assert _ids(made, persons=("Burns, William J.",)) == {"08MOSCOW1", "08MOSCOW2", "09STATE1"}
    assert _ids(made, persons=("burns",)) == everyone


def test_person_facet(made: SearchService) -> None:
    facet = dict(made.search(SearchRequest(facet_limit=0)).facets["person"])
    assert facet == {"BURNS, WILLIAM J.": 3, "BURNS": 1, "BURNS, NICHOLAS": 1}


def test_person_profile(made: SearchService) -> None:
    p = made.person("William J. Burns")
    assert p.name == "BURNS, WILLIAM J."
    assert p.spellings == ["BURNS", "BURNS, WILLIAM J."]
    assert [c.reference_id for c in p.cables] == ["08MOSCOW1", "08MOSCOW2", "09STATE1"]
    assert [c.roles for c in p.cables] == [["signer", "classified by"], ["signer"], ["tag"]]
    assert p.posts == [("Embassy Moscow", 2), ("Secretary of State", 1)]
    assert p.roles == [("signer", 2), ("classified by", 1), ("tag", 1)]
    data = json.loads(json.dumps(p.to_json()))
    assert data["total"] == 3 and data["cables"][0]["created"] == "2008-03-01T00:00"
    with pytest.raises(PersonAmbiguous, match="NICHOLAS"):
        made.person("Burns")
    with pytest.raises(PersonNotFound, match="no person"):
        made.person("Smith")
    with pytest.raises(PersonNotFound):
        made.person("1.4")


def test_person_on_real_cables(tmp_path: Path, data_dir: Path) -> None:
    cables = list(parse.iter_cables([data_dir / "telegram"]))
    ix = CableIndex.open(tmp_path / "ix")
    with ix.writer(timeout=10) as w:
        for c in cables:
            w.put(c)
    with SearchService(ix, Config()) as svc:
        p = svc.person("Brownfield")
        assert p.name == "BROWNFIELD, WILLIAM R."
        assert {c.reference_id for c in p.cables} == {"06CARACAS1276", "10BOGOTA201"}
        assert all(c.roles == ["signer", "classified by"] for c in p.cables)
        assert svc.person("steinberg").cables[0].roles == ["tag"]


def test_cli_person_and_search(tmp_path: Path, data_dir: Path) -> None:
    env = {"CABLESEARCH_INDEX_DIR": str(tmp_path / "ix")}
    runner = CliRunner()
    r = runner.invoke(main, ["index", str(data_dir / "telegram")], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["person", "Brownfield"], env=env)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("BROWNFIELD, WILLIAM R.: 2 cables")
    assert "06CARACAS1276" in r.output and "signer, classified by" in r.output
    r = runner.invoke(main, ["person", "brownfield", "--json"], env=env)
    assert json.loads(r.output)["total"] == 2
    r = runner.invoke(main, ["search", "--person", "Brownfield"], env=env)
    assert r.exit_code == 0 and r.output.startswith("2 cables")
    # facets are multi-select: the person facet is counted without its own filter, so it lists
    # the other people too, and the chosen one with its 2 cables
    person_line = next(line for line in r.output.splitlines() if line.startswith("person: "))
    assert "BROWNFIELD, WILLIAM R. (2)" in person_line
    r = runner.invoke(main, ["person", "Nobodyatall"], env=env)
    assert r.exit_code == 1 and r.output.startswith("Error: no person 'NOBODYATALL'")
    assert "Traceback" not in r.output
