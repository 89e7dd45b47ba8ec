"""The reading layout of a cable body: the preamble, the summary, the numbered paragraphs with
their classification marks, the section headings and the signature — pure functions on text.

A cable's body, as the parser gives it, is the telegram text: on the site it often arrives as
one long line ("... End Summary. 3. (S/NF) Once again ..."), in telegrams as hard-wrapped
lines of ~70 characters. :func:`layout` splits it into :class:`Block` s a page can show one
by one (each numbered paragraph with an anchor ``p<N>`` and its marking, e.g. ``S/NF``),
without changing a word: joining the blocks' ``source`` gives back the body.

Paragraph numbers must rise (1, 2, 3 ..., allowing one repeat or one skip) so "1.4 (b)" in a
classification line or a list of dates does not start a paragraph.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# The first part of a paragraph's classification marking, then optional control markings.
_LEVELS = r"U|C|S|TS|SBU|LOU|FOUO|CUI|NC|CONF|SECRET|UNCLAS"
_CONTROLS = r"NF|NOFORN|FOUO|ORCON|OC|PROPIN|REL[A-Z ,]{0,30}|SI|TK|HCS|SIPDIS|NOFORN-SIPDIS"
MARK = re.compile(rf"\(\s*((?:{_LEVELS})(?:\s*/{{1,2}}\s*(?:{_CONTROLS}))*)\s*\)")
_MARK_AT_START = re.compile(rf"[ \t]*{MARK.pattern}[ \t]*")

# A numbered paragraph: "1. " at the start of a line (or after a sentence), or "1. (C)" with a
# classification marking anywhere (bodies that come as one long line).
_PARAGRAPH = re.compile(
    r"(?:(?:(?<=^)|(?<=\n)|(?<=\s\s)|(?<=[.:\"”)]\s))[ \t]*(\d{1,3})\.[ \t]+(?=\(|[A-Z\"“])"
    rf"|(?<=\s)(\d{{1,3}})\.[ \t]+(?={MARK.pattern}))"
)
_LABEL = re.compile(
    r"^(Summary(?: and (?:Comment|Action Request))?|Comment|Action Request)\s*[:.\-–—]+\s*", re.I
)
_END_SUMMARY = re.compile(r"\(?\bEnd\s+(?:of\s+)?Summary\b\.?\)?", re.I)
_PREAMBLE_SUMMARY = re.compile(r"(?:^|(?<=\n)|(?<=\s))(?:-{3,}\s*)?SUMMARY\s*(?:-{3,}\s*|[:.\-]\s*)", re.I)
_DASHES = re.compile(r"^-{3,}$")
# Lines of the preamble that start a new line when the text came as one line.
_PREAMBLE_KEYS = re.compile(
    r"[ \t]+(?=(?:E\.\s?O\.|TAGS[: ]|SUBJECT:|SUBJ:|REF:|REFS:|REFTEL|CLASSIFIED BY|Classified [Bb]y|"
    r"SIPDIS\b|NOFORN\b|SENSITIVE\b|DEPT FOR|STATE FOR)\s?)"
)
_NOT_A_TITLE = re.compile(r"^(?:Classified|CLASSIFIED|REF|REFS|E\.\s?O|TAGS|SUBJ|SIPDIS|NOFORN|END)\b")
_LIST_ITEM = re.compile(r"^(?:-{1,2}\s|\*\s|[A-Za-z]\.\s|\(?[a-z0-9]{1,2}\)\s|[A-Z]/\s|o\s)")

LEVEL_NAMES = {
    "U": "Unclassified",
    "UNCLAS": "Unclassified",
    "SBU": "Sensitive but unclassified",
    "LOU": "Limited official use",
    "FOUO": "For official use only",
    "CUI": "Controlled unclassified",
    "C": "Confidential",
    "CONF": "Confidential",
    "NC": "Not classified",
    "S": "Secret",
    "SECRET": "Secret",
    "TS": "Top secret",
}
CONTROL_NAMES = {
    "NF": "no foreign nationals",
    "NOFORN": "no foreign nationals",
    "OC": "originator controlled",
}


@dataclass(frozen=True)
class Block:
    """One piece of a cable body, in reading order.

    ``kind``: ``preamble`` (classification line, SIPDIS, E.O., TAGS, SUBJECT, REF ... before the
    first paragraph), ``summary`` (an unnumbered summary), ``paragraph`` (numbered),
    ``heading`` (a section title between paragraphs) or ``signature``. ``text`` is the text to
    read: the number and marking taken off the front of a paragraph, hard line wraps joined
    (blank lines and list items kept as line breaks). ``source`` is the exact slice of the body.
    """

    kind: str
    text: str
    source: str
    number: int | None = None
    mark: str = ""  # the classification marking as written, e.g. "S/NF"
    anchor: str = ""  # "p3", "p3-2" for a repeated number, "summary", "h2" for headings
    label: str = ""  # "Summary", "Comment" ... when the paragraph opens with one
    in_summary: bool = False  # inside the summary (from "Summary:" to "End summary")
    ends_summary: bool = False

    @property
    def level(self) -> str:
        """The marking's level in lower case for CSS (``s``, ``c``, ``u``, ``ts``, ``sbu``)."""
        return mark_level(self.mark)

    @property
    def mark_title(self) -> str:
        return mark_title(self.mark)


@dataclass(frozen=True)
class Layout:
    blocks: list[Block] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[Block]:
        return [b for b in self.blocks if b.kind == "paragraph"]

    @property
    def marks(self) -> list[str]:
        """The distinct paragraph markings, in order of first use."""
        return list(dict.fromkeys(b.mark for b in self.blocks if b.mark))


def mark_level(mark: str) -> str:
    head = re.split(r"\s*/", mark, maxsplit=1)[0].strip().upper() if mark else ""
    return {
        "UNCLAS": "u",
        "CONF": "c",
        "SECRET": "s",
        "NC": "u",
        "LOU": "sbu",
        "FOUO": "sbu",
        "CUI": "sbu",
    }.get(head, head.lower())


def mark_title(mark: str) -> str:
    """``"S/NF"`` -> ``"Secret, no foreign nationals"`` (what a reader sees on hover)."""
    if not mark:
        return ""
    parts = [p.strip().upper() for p in re.split(r"/{1,2}", mark) if p.strip()]
    words = [LEVEL_NAMES.get(parts[0], parts[0])]
    words += [CONTROL_NAMES.get(p, p) for p in parts[1:]]
    return ", ".join(words)


def split_paragraphs(body: str) -> list[tuple[int | None, str]]:
    """The body as (number, text) pieces: a new piece starts at each numbered paragraph, in
    order, whether paragraphs start lines or follow each other on one long line. The first
    piece (number None) is what comes before paragraph 1; it is left out when empty."""
    pieces: list[tuple[int | None, str]] = []
    last_end = 0
    expected = 1
    number: int | None = None
    for m in _PARAGRAPH.finditer(body):
        group = 1 if m.group(1) is not None else 2
        n = int(m.group(group))
        if not (n == expected or (n == expected - 1 and n > 0) or (expected > 1 and n == expected + 1)):
            continue
        start = m.start(group)
        pieces.append((number, body[last_end:start]))
        number, last_end, expected = n, start, n + 1
    pieces.append((number, body[last_end:]))
    return [(n, t) for n, t in pieces if n is not None or t]


def reflow(text: str) -> str:
    """Hard-wrapped lines joined into running text; blank lines (as one blank line), list
    items and dashed rules keep their line breaks. Text without line breaks is returned
    stripped."""
    out: list[str] = []
    for chunk in re.split(r"\n[ \t]*\n+", text.strip()):
        lines = [ln.strip() for ln in chunk.split("\n") if ln.strip()]
        joined: list[str] = []
        for ln in lines:
            if (
                joined
                and not _LIST_ITEM.match(ln)
                and not _DASHES.match(ln)
                and not _DASHES.match(joined[-1])
            ):
                joined[-1] = f"{joined[-1]} {ln}"
            else:
                joined.append(ln)
        if joined:
            out.append("\n".join(re.sub(r"[ \t]{2,}", " ", j) for j in joined))
    return "\n\n".join(out)


def _preamble_text(text: str) -> str:
    """The preamble with its lines where a one-line body lost them (before E.O., TAGS, ...)."""
    lines = [_PREAMBLE_KEYS.sub("\n", ln.rstrip()) for ln in text.strip().split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _heading_of(chunk: str) -> str | None:
    """The title if a chunk of text (between blank lines) is a section heading."""
    lines = [ln.strip() for ln in chunk.strip().split("\n") if ln.strip()]
    titles = [ln for ln in lines if not _DASHES.match(ln)]
    dashed = len(titles) < len(lines)
    if len(titles) != 1:
        return None
    title = titles[0]
    m = re.match(r"^(.{2,80}?)\s+-{3,}$", title)
    if m:
        title, dashed = m.group(1), True
    if len(title) > 80 or not re.match(r"^[A-Z0-9\"“(]", title) or title.endswith((".", ",", ";", ":")):
        return None
    if _PARAGRAPH.match(title) or _NOT_A_TITLE.match(title) or title.count("X") > len(title) // 2:
        return None
    return title if dashed or (len(title.split()) >= 2 and len(title) <= 70) else None


def _title(raw: str) -> str:
    return re.sub(r"\s*-{3,}\s*", " — ", raw).strip(" —")


def _tail_search(pattern: str, text: str, span: int = 240) -> tuple[int, re.Match[str]] | None:
    """``re.search(pattern, ...)`` in the last ``span`` characters of ``text`` only (the
    patterns are anchored at the end; a bounded tail keeps them linear on long paragraphs),
    with the offset of that tail."""
    offset = max(0, len(text) - span)
    m = re.search(pattern, text[offset:])
    return (offset, m) if m else None


def _trailing_heading(text: str) -> tuple[str, str | None, str]:
    """Splits a section heading off the end of a paragraph's text: (rest, title, heading
    source). A heading is the last chunk after a blank line, or a title followed by a dashed
    rule (or in capitals) at the very end of a one-line body."""
    stripped = text.rstrip()
    gaps = list(re.finditer(r"\n[ \t]*\n", stripped[-400:]))
    if gaps:
        start = len(stripped[:-400]) + gaps[-1].start() if len(stripped) > 400 else gaps[-1].start()
        chunk = text[start:]
        title = _heading_of(chunk) if chunk.strip().count("\n") <= 2 else None
        if title:
            return text[:start], _title(title), text[start:]
    found = _tail_search(
        r"(?<=[.!?\"”)])\s+((?:-{3,}\s+)?([A-Z][A-Za-z0-9 ,'’&/-]{1,78}?)\s+-{3,})\s*$", text
    )
    if found:
        offset, m = found
        return text[: offset + m.start()], _title(m.group(2)), text[offset + m.start() :]
    # an all-capitals title run on after the last sentence ("... Foundation. BIO NOTE")
    found = _tail_search(r"(?<=[.!?\"”)])\s+([A-Z][A-Z0-9 ,'’&/-]{3,78}[A-Z])\s*$", text)
    if found:
        offset, m = found
        if len(re.findall(r"[A-Z]{2,}", m.group(1))) >= 2 and not m.group(1).startswith("END"):
            return text[: offset + m.start()], m.group(1).strip(), text[offset + m.start() :]
    return text, None, ""


def _trailing_signature(text: str, signers: Sequence[str]) -> tuple[str, str]:
    """Splits the signer's name (a last line that is one of ``signers``) off the end."""
    names = {s.strip().upper() for s in signers if s.strip()}
    if not names:
        return text, ""
    found = _tail_search(r"(?:\n|\s{2,}|(?<=[.!?\"”)])\s)([A-Z][A-Za-z.'’ -]{1,40})\s*$", text, 80)
    if found and found[1].group(1).strip().upper() in names:
        cut = found[0] + found[1].start()
        return text[:cut], text[cut:]
    return text, ""


def _paragraph(number: int, source: str, anchor: str) -> Block:
    text = source.strip()
    text = re.sub(rf"^{number}\.[ \t]*", "", text)
    mark = ""
    m = _MARK_AT_START.match(text)
    if m:
        mark = re.sub(r"\s+", "", m.group(1))
        text = text[m.end() :]
    label = ""
    lm = _LABEL.match(text)
    if lm:
        label = lm.group(1).strip().capitalize()
    return Block("paragraph", reflow(text), source, number, mark, anchor, label)


def _preamble_blocks(source: str) -> list[Block]:
    """The preamble, and an unnumbered summary at its end ("SUMMARY: ... END SUMMARY")."""
    found = [
        m
        for m in _PREAMBLE_SUMMARY.finditer(source)
        if not source[: m.start()].rstrip().upper().endswith("END")
    ]
    m = found[0] if found else None
    if m is not None and m.start() > 0:
        summary = source[m.start() :]
        text = reflow(summary[m.end() - m.start() :])
        pre = source[: m.start()]
        blocks = [Block("preamble", _preamble_text(pre), pre)] if pre.strip() else []
        ends = bool(_END_SUMMARY.search(summary))
        return blocks + [
            Block(
                "summary",
                text,
                summary,
                anchor="summary",
                label="Summary",
                in_summary=True,
                ends_summary=ends,
            )
        ]
    return [Block("preamble", _preamble_text(source), source)] if source.strip() else []


def layout(body: str, signers: Iterable[str] = ()) -> Layout:
    """The reading layout of a cable body (see the module doc). ``signers`` (the cable's
    signers) lets the signature at the end be set apart."""
    signers = list(signers)
    pieces = split_paragraphs(body)
    blocks: list[Block] = []
    seen: dict[int, int] = {}
    headings = 0
    for i, (number, source) in enumerate(pieces):
        last = i == len(pieces) - 1
        tail: list[Block] = []
        rest = source
        if last:
            rest, sig = _trailing_signature(rest, signers)
            if sig:
                tail.append(Block("signature", sig.strip(), sig))
        if not last or number is not None:
            rest, title, heading_source = _trailing_heading(rest)
            if title:
                headings += 1
                tail.insert(0, Block("heading", title, heading_source, anchor=f"h{headings}"))
        if number is None:
            blocks += _preamble_blocks(rest)
        else:
            seen[number] = seen.get(number, 0) + 1
            anchor = f"p{number}" if seen[number] == 1 else f"p{number}-{seen[number]}"
            blocks.append(_paragraph(number, rest, anchor))
        blocks += tail
    return Layout(_mark_summary(blocks))


def _mark_summary(blocks: list[Block]) -> list[Block]:
    """Flags the blocks from a "Summary:" paragraph to the one that says "End summary"."""
    out: list[Block] = []
    inside = False
    for b in blocks:
        if b.kind == "summary":
            inside = not b.ends_summary
            out.append(b)
            continue
        starts = b.kind == "paragraph" and b.label.lower().startswith("summary")
        if starts:
            inside = True
        if b.kind == "paragraph" and inside:
            ends = bool(_END_SUMMARY.search(b.text))
            out.append(_replace(b, in_summary=True, ends_summary=ends))
            inside = not ends
        else:
            out.append(b)
    return out


def _replace(block: Block, **changes: object) -> Block:
    from dataclasses import replace

    return replace(block, **changes)  # type: ignore[arg-type]
