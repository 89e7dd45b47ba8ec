"""The analysis fast paths give what their plain definitions give (indexing speed work)."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from cablesearch.engine.schema import fold_accents


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
