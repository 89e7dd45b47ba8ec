"""The cable page's content: the reading layout of :mod:`cablesearch.reading` as safe HTML,
the query's terms marked, the TAGS line linked, and the header fields the parser knows.

Everything is escaped here or by the search library's highlighter (which escapes the text it
marks); the templates print these values as they are."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape

from ..errors import CablesearchError, QueryTimeout
from ..model import Cable
from ..reading import Block, layout
from ..results import Hit

Highlight = Callable[[str, str], str]

# Pieces of text highlighted in one call are joined by this private-use character (not
# whitespace, not a word character: the highlighter leaves it alone and words split as before).
_SEPARATOR = "\ue000"
# The highlighter collapses whitespace runs (right for snippets); cable text keeps its line
# breaks, so its whitespace travels through the highlighter as private-use characters.
_LAYOUT = {"\n": "\ue001", " ": "\ue002", "\t": "\ue003"}
_LAYOUT_IN = str.maketrans({**_LAYOUT, "\r": None})
_PRIVATE = re.compile("[\ue000-\ue003]")
_TAGS_START = re.compile(r"(?:^|(?<=\s))TAGS:?[ \t]*")
_END_SUMMARY_HTML = re.compile(r"\(?\bEnd\s+(?:of\s+)?Summary\b\.?\)?", re.I)


def highlight_layout(highlight: Highlight, text: str, query: str) -> str:
    """``highlight(text, query)`` (escaped HTML with <mark>) with the text's line breaks and
    spacing kept."""
    html = str(highlight(text.translate(_LAYOUT_IN), query))
    for char, stand_in in _LAYOUT.items():
        html = html.replace(stand_in, char)
    return html


def mark_all(texts: list[str], query: str, highlight: Highlight | None) -> tuple[list[Markup], str]:
    """Each text as safe HTML with the query's terms marked, in ONE highlighter call; and a
    note for the reader when the terms could not be marked ("" when all went well)."""
    texts = [_PRIVATE.sub("", t) for t in texts]
    plain = [Markup(escape(t)) for t in texts]
    if not query or highlight is None:
        return plain, ""
    try:
        html = highlight_layout(highlight, _SEPARATOR.join(texts), query)
    except QueryTimeout:
        return plain, "The query's terms could not be marked within the time limit."
    except CablesearchError:
        return plain, ""  # a query that cannot be parsed still shows the cable, without marks
    parts = html.split(_SEPARATOR)
    if len(parts) != len(texts):
        return plain, ""
    return [Markup(p) for p in parts], ""


def link_tags(html: str, known_tags: set[str]) -> str:
    """Links each known tag in the (first) TAGS line to the tag filter."""
    m = _TAGS_START.search(html)
    if not m or not known_tags:
        return html
    out = [html[: m.end()]]
    pos = m.end()
    for word in re.finditer(r"([^\s,]+)(,?\s*)", html[pos:]):
        if word.group(1) not in known_tags:
            break
        tag = word.group(1)
        out.append(f'<a class="tag" href="/?{escape(urlencode({"tag": tag}))}">{tag}</a>' + word.group(2))
        pos = m.end() + word.end()
    out.append(html[pos:])
    return "".join(out)


@dataclass
class BlockView:
    block: Block
    html: Markup


@dataclass
class CableView:
    """What the cable page shows."""

    cable: Cable
    q: str
    subject: Markup
    header: Markup
    blocks: list[BlockView]
    known: set[str] = field(default_factory=set)  # references that are in the index
    cited_by: list[Hit] = field(default_factory=list)
    similar: list[Hit] = field(default_factory=list)
    note: str = ""  # e.g. that the terms could not be marked in time
    thread_size: int | None = None  # indexed cables of the whole thread (None: not counted)
    signers: list[Any] = field(default_factory=list)  # people.PersonLink per signer
    classified_by: Any = None  # people.PersonLink of the "Classified by" line

    @property
    def marks(self) -> list[tuple[str, str, str]]:
        """(mark, level, title) of each distinct paragraph marking, in order of first use."""
        seen: dict[str, tuple[str, str, str]] = {}
        for v in self.blocks:
            b = v.block
            if b.mark and b.mark not in seen:
                seen[b.mark] = (b.mark, b.level, b.mark_title)
        return list(seen.values())

    @property
    def has_paragraphs(self) -> bool:
        return any(v.block.kind == "paragraph" for v in self.blocks)


def build_view(cable: Cable, q: str, highlight: Highlight | None) -> CableView:
    """The cable's layout with ``q``'s terms marked (one highlighter call for everything)."""
    blocks = layout(cable.body, cable.signers).blocks
    htmls, note = mark_all([cable.subject, cable.header] + [b.text for b in blocks], q, highlight)
    tags = set(cable.tags)
    views = []
    for block, html in zip(blocks, htmls[2:], strict=True):
        if block.kind == "preamble":
            html = Markup(link_tags(str(html), tags))
        elif block.ends_summary:
            html = Markup(
                _END_SUMMARY_HTML.sub(lambda m: f'<span class="end-mark">{m.group(0)}</span>', str(html))
            )
        views.append(BlockView(block, html))
    return CableView(cable=cable, q=q, subject=htmls[0], header=htmls[1], blocks=views, note=note)
