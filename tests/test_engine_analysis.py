"""The analysis fast paths give what their plain definitions give (indexing speed work)."""

from __future__ import annotations

import unicodedata
from array import array
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import fields

from cablesearch import parse
from cablesearch.engine.schema import (
    FastStemmingAnalyzer,
    FastText,
    cable_to_doc,
    fold_accents,
    positions_postings,
)
from cablesearch.engine.storage import default_schema


def _fold_reference(text: str) -> str:
    # the definition: NFKD, then every combining mark dropped
    return "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))


@given(st.text(max_size=200))
@settings(max_examples=400, deadline=None)
def test_fold_accents_is_nfkd_without_combining_marks(text: str) -> None:
    assert fold_accents(text) == _fold_reference(text)


def test_fold_accents_on_cable_text() -> None:
    text = "¶1. (C) Ambassador met Córdoba’s “Ñuñoa” délégation; Ångström, ﬁnance, Zürich\u0301."
    assert fold_accents(text) == _fold_reference(text)
    assert "Cordoba" in fold_accents(text) and "Nunoa" in fold_accents(text)
    assert fold_accents("plain ascii") == "plain ascii"


def _whoosh_postings(field: fields.FieldType, value: str) -> list[tuple[bytes, int, float, bytes]]:
    # Whoosh's own path: the analyzer's token stream through the format's word_values
    return sorted(fields.FieldType.index(field, value))


def test_fast_postings_are_what_whoosh_positions_format_gives(data_dir: Path) -> None:
    """The writer's postings of each text field (term, frequency, weight, positions value)
    equal Whoosh's ``Positions.word_values`` over the same analyzer, for real cables: the
    weights are ints where Whoosh's are floats (equal, and written as the same ``array("f")``)."""
    sch = default_schema()
    cables = list(parse.iter_cables([data_dir / "page"]))
    assert len(cables) > 30
    checked = 0
    for cable in cables:
        doc = cable_to_doc(cable)
        for name in ("subject", "body", "signers", "recipients"):
            if name not in doc:
                continue
            field = sch[name]
            fast = field.postings_and_length(doc[name])
            assert fast is not None
            items, length = fast
            assert sorted(items) == _whoosh_postings(field, doc[name])
            assert length == sum(freq for _, freq, _, _ in items)
            weights = [w for _, _, w, _ in items]
            assert array("f", weights).tobytes() == array("f", map(float, weights)).tobytes()
            checked += 1
    assert checked > 60


@given(st.lists(st.sampled_from(["oil", "embassy", "minister", "x", "café", "naïve", "ﬁnance"]), max_size=80))
@settings(max_examples=200, deadline=None)
def test_positions_postings_with_a_boost_match_whoosh(words: list[str]) -> None:
    """With a field boost the weights are Whoosh's floats (frequency times boost)."""
    field = FastText(analyzer=FastStemmingAnalyzer(), phrase=True, field_boost=2.5)
    text = " ".join(words)
    assert sorted(positions_postings(field.analyzer.terms(text), 2.5)) == _whoosh_postings(field, text)
