"""Field extraction from a cable's telegram text: the header block and the body.

``extract(header, body, cable)`` fills a :class:`~cablesearch.model.Cable` from the routing
header (date-time group, FM, TO, INFO) and from the body (classification line, E.O. 12958 line,
TAGS, SUBJECT, REF, Classified By, summary, signers). It works on line-broken text (telegram,
HTML and CSV forms) and on the page form, where everything after the SUBJECT line is run
together on one line. Values the container already set (the page table's reference ID, dates,
classification and origin) are kept; where the telegram says otherwise a warning says so.

Only the first few kilobytes of the body are searched for the opening fields, and the last few
hundred characters for the signer, so a cable costs about the same whatever its length.
"""

from __future__ import annotations

import re
from datetime import datetime

from cablesearch.model import Cable
from cablesearch.parse.evidence import Evidence, choose_id, fm_post, header_disagreement
from cablesearch.parse.ids import canonical_id, make_id, parse_refs, post_token
from cablesearch.parse.origin import origin_from_fm, origin_from_post
from cablesearch.parse.residue import drop_page_lines
from cablesearch.parse.tags import find_tags

__all__ = ["clean_body", "extract", "parse_dtg", "read_metadata", "remove_page_breaks", "split_telegram"]

_TOP = 8000  # characters of the body searched for the opening fields
_TAIL = 600  # characters at the end searched for the signer

_MONTHS = {
    m: i
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1
    )
}
_MONTHS.update({"SEPT": 9})

# --------------------------------------------------------------------------------------------
# header

_DTG = re.compile(r"(?<![0-9A-Z])(\d{2})(\d{2})(\d{2})Z\s*([A-Z]{3,4})\s*(\d{4}|\d{2})(?!\d)")
_HEADER_DTG = re.compile(
    r"^\s*(?:[A-Z]{1,2}\s+){0,2}(\d{2})(\d{2})(\d{2})Z\s*([A-Z]{3,4})\s*(\d{4}|\d{2})\b", re.M
)
_FM = re.compile(r"^\s*FM:?\s+(.+?)\s*$", re.M)
_HEADER_STOP = re.compile(r"^(?:BT|NNNN|ZEN|ZFR|XMT)\b")
_STOP_STARTS = frozenset(("BT", "NN", "ZE", "ZF", "XM"))


def _year4(yy: str) -> int:
    y = int(yy)
    if len(yy) == 4:
        return y
    return 1900 + y if y > 50 else 2000 + y


def parse_dtg(text: str) -> datetime | None:
    """The first date-time group in ``text`` (``101633Z NOV 08`` → 2008-11-10 16:33), or None."""
    m = _DTG.search(text)
    return _dtg_from_match(m) if m else None


def _dtg_from_match(m: re.Match[str]) -> datetime | None:
    day, hh, mm, mon, yy = m.groups()
    month = _MONTHS.get(mon.upper())
    if not month:
        return None
    try:
        return datetime(_year4(yy), month, int(day), int(hh), int(mm))
    except ValueError:
        return None


_ADDRESSEE_LINE = re.compile(r"^(?:[A-Z0-9]{3,8}/)?[A-Z][A-Z0-9 ./&(),'\-]*[A-Z][A-Z0-9 ./&(),'\-]*$")
_DISTRIBUTION = re.compile(r"\b[A-Z]{1,6}-\d{2}\b")
_PRECEDENCE = frozenset(["IMMEDIATE", "PRIORITY", "ROUTINE", "FLASH", "NIACT", "CRITIC"])


def _addressee(line: str) -> str:
    """``RUEHC/SECSTATE WASHDC IMMEDIATE 3602`` → ``SECSTATE WASHDC``."""
    slash = line.find("/")
    if 0 <= slash <= 8 and line[:slash].strip().isalnum():
        line = line[slash + 1 :]
    if "//" in line:
        line = line.split("//", 1)[0]  # "JOINT STAFF WASHDC//J-3/J-5//": the office
    words = line.split()
    while words and (words[-1].isdigit() or words[-1] in _PRECEDENCE):
        words.pop()
    return " ".join(words)


def _parse_header(header: str) -> tuple[datetime | None, str, list[str], list[str]]:
    """(created, FM text, TO list, INFO list) from a routing header."""
    created = None
    m = _HEADER_DTG.search(header)
    if m:
        created = _dtg_from_match(m)
    fm = ""
    to: list[str] = []
    info: list[str] = []
    target: list[str] | None = None
    for raw in header.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line[:2] in _STOP_STARTS and _HEADER_STOP.match(line):
            target = None
            continue
        if line.startswith("FM ") or line.startswith("FM:"):
            fm = line[3:].strip(" :")
            target = None
            continue
        if line.startswith("TO ") or line.startswith("TO:"):
            target = to
            line = line[3:].strip(" :")
        elif line.startswith("INFO ") or line.startswith("INFO:") or line == "INFO":
            target = info
            line = line[4:].strip(" :")
        if line.startswith("PAGE ") and line[5:7].isdigit():
            line = ""  # "TO PAGE 02 STATE 015113 182333Z"
        if target is not None and line:
            if line.upper() != line:
                target = None  # a date line or text: the addressees are over
                continue
            if not _ADDRESSEE_LINE.match(line) or ("-" in line and _DISTRIBUTION.search(line)):
                continue  # "LOG-00 MFA-00 EEB-00 ...": office distribution
            if line[0] in "OPRZ" and _HEADER_DTG.match(line):
                target = None  # the next message's routing block
                continue
            name = _addressee(line)
            if name:
                target.append(name)
    return created, fm, to, info


# --------------------------------------------------------------------------------------------
# body: opening fields

_SPACED = {
    "SECRET": r"(?i:S?S\s?E\s?C\s?R\s?E\s?T)",
    "CONFIDENTIAL": r"(?i:C?C\s?O\s?N\s?F\s?I\s?D\s?E\s?N\s?T\s?I\s?A\s?L)",
    "UNCLASSIFIED": r"(?i:U\s?N\s?C\s?L\s?A\s?S(?:\s?S\s?I\s?F\s?I\s?E\s?D)?)",
}
_CLASS_LINE = re.compile(
    r"^[ \t]*(?P<cls>"
    + "|".join(f"(?P<{k}>{v})" for k, v in _SPACED.items())
    + r"|(?P<TRUNC>E\sC\sR\sE\sT|O\sN\sF\sI\sD\sE\sN\sT\sI\sA\sL|N\sC\sL\sA\sS\sS\sI\sF\sI\sE\sD)"
    + r"|(?P<LOU>LIMITED\s+OFFICIAL\s+USE))"
    + r"(?:\s*//?\s*(?P<caveat>NOFORN|NOFORM|SENSITIVE|SBU|FOUO|EXDIS|NODIS|LIMDIS))?"
    + r"(?:\s+(?:NOFORN|SENSITIVE|EXDIS|NODIS|LIMDIS|STADIS|SPECAT|SBU|EFTO|E\sF\sT\sO|"
    + r"CORRECTED\s+COPY|NOFORN\s+NOFORN)\b)*"
    + r"(?:\s+(?i:SECTION|SECTIOIN|SECTON|SECION)\s+(?P<sec>\d+)\s+(?i:OF)\s+(?P<of>\d+))?"
    + r"\s+(?P<post>[A-Za-z][A-Za-z .'\-]*?)\s+(?P<num>\d{1,7})\b[^\n]*$",
    re.M,
)
_CLASS_WORD = re.compile(
    r"^[ \t]*(?:" + "|".join(_SPACED.values()) + r"|LIMITED OFFICIAL USE|UNCLAS)\b", re.M
)

_EO = re.compile(r"(?:^|\s)E\.?\s?O\.?\s*1\d{4}\s*:?\s*(?P<rest>[^\n]*)", re.I)
_DECL = re.compile(r"^(?:DECL(?:ASSIFY)?\s*(?:ON)?\s*:?\s*)?(?P<v>.*)$", re.I)
_DATE_YMD = re.compile(r"\b((?:19|20)\d{2})\s*[/\-.]\s*(\d{1,2})\s*[/\-.]\s*(\d{1,2})\b")
_DATE_MDY = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4}|\d{2})\b")
_DATE_DMY = re.compile(r"\b(\d{1,2})[ \-]([A-Za-z]{3,9})[ \-,]*(\d{4})\b")

_SUBJECT = re.compile(
    r"(?:^[ \t]*(?:SUBJECT|Subject|subject|SUBJ|Subj)|(?<=\s)(?:SUBJECT|Subject))\s*:[ \t]*", re.M
)
_SUBJECT_LOOSE = re.compile(r"^[ \t]*(?:SUBJECT|Subject)[ \t]+(?=\S)", re.M)

# Where the subject (and the REF block) ends.
_END_STRONG = re.compile(
    r"(?<=[A-Z])REFS?:\s+(?=[A-Z]\.\s)|"  # "...THE PRIMEREF: A. LONDON 1939": glued to the word before
    r"(?:^|\s)(?:(?:REF|Ref|Refs|REFS|REFTEL|REFTELS|Reftel|Ref\(s\)|REF\(S\))\s*:|REFS?\s+[A-Z]?[.)]\s|REF\s*\(|"
    r"Classified\s+By\b|CLASSIFIED\s+BY\b|Classified\s+by\b|Derived\s+[Ff]rom\b|DERIVED\s+FROM\b)"
)
_END_WEAK = re.compile(
    r"\n[ \t]*\n|(?<=[A-Z])REFS?:\s+(?=[A-Z]\.\s)|(?:^|\s)(?:"
    r"(?:REF|Ref|Refs|REFS|REFTEL|REFTELS|Reftel|Ref\(s\)|REF\(S\))\s*:|REFS?\s+[A-Z]?[.)]\s|REF\s*\(|"
    r"Classified\s+By\b|CLASSIFIED\s+BY\b|Classified\s+by\b|Derived\s+[Ff]rom\b|DERIVED\s+FROM\b|"
    r"¶|\d{1,2}\s*\.\s*\((?:[A-Z/ ]{1,12})\)|\d{1,2}\.\s+(?=[A-Z])|"
    r"-{3,}|={3,}|_{3,}|\*{3,}|X{6,}|SUMMARY\s*[:.\-]|Summary\s*[:.\-]|"
    r"(?:THIS|This)\s+(?:IS|is)\s+(?:AN?|a|an)\s|(?:THIS|This)\s+(?:CABLE|cable|MESSAGE|message)\b|"
    r"PLEASE\s|Please\s|\((?:U|SBU|C|S)(?:/[A-Z]+)?\)\s+(?=[A-Z])|"
    r"SIPDIS\b|NOFORN\b|SENSITIVE\s+BUT\b|E\.O\.\s*1\d{4}|TAGS\s*:)"
)
_NEXT_IS_FIELD = re.compile(
    r"^[ \t]*(?:(?:REF|Ref|Refs|REFS|REFTEL|Reftel)\s*:|Classified\s+By|CLASSIFIED\s+BY|Classified\s+by|"
    r"\d{1,2}\.\s|¶)"
)
_REF = re.compile(
    r"(?:^|(?<=\s))(?:REF|Ref|Refs|REFS|REFTEL|REFTELS|Reftel|Ref\(s\)|REF\(S\))\s*:\s*|(?<=[A-Z])REFS?:\s+(?=[A-Z]\.\s)|(?:^|(?<=\n))REFS?\s+(?=(?:[A-Z][.):]|\())|(?<=\s)REFS?\s+(?=[A-Z][.):]\s)"
)
_REF_END = re.compile(
    r"(?:^|\s)(?:Classified\s+By\b|CLASSIFIED\s+BY\b|Classified\s+by\b|"
    r"Derived\s+[Ff]rom\b|DERIVED\s+FROM\b|\(U\)\s+Classified|"
    r"¶|\d{1,2}\s*\.\s*\((?:[A-Za-z/ ]{1,12})\)|(?<![A-Z])1\s*\.\s+(?=[A-Z][a-z])|"
    r"-{5,}|={5,}|SUMMARY\s*[:.\-]|Summary\s*[:.\-]|SUMMARY\s+AND|Summary\s+and|"
    r"(?:THIS|This)\s+(?:IS|is)\s+|PLEASE\s+PASS|SUBJECT\s*:|Subject\s*:|"
    r"(?i:section\s+\d+\s+of\s+\d+)|SIPDIS|(?i:sipdis\b)|E\.\s?[Oo]\.\s*1\d{4}|(?i:tags)\s*:)"
)
# a paragraph after a blank line that still belongs to the REF block: an item label, a bare
# number, "OF ...", or "POST NUMBER"
_REF_CONTINUES = re.compile(
    r"^[ \t]*(?:(?:[A-Za-z][.)]|\([A-Za-z]\))\s|\d{3,7}\b(?!\.)|OF\s|(?:\d{2,4}\s+)?[A-Z][A-Z .\-]{1,30}\s\d{2,7}\b(?!\.\s))"
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_CLASSIFIED_BY = re.compile(r"CLASSIFIED\s+BY\s*:?\s*", re.I)  # matched where a needle was found
_CB_END = re.compile(
    r"[,;.]?\s*(?:\bfor\s+(?:reasons?|reason)\b|\bfor\s+rea|\bReasons?\b|\breasons?\s*:|\bE\.?O\.?\s*1\d{4}|"
    r"\bper\s+1\.[45]\b|\b1\.[45]\s*\(|\n[ \t]*\n|\s\d{1,2}\s*\.\s*\(|\s\d{1,2}\.\s+[A-Z]|"
    r"\b(?:SECRET|CONFIDENTIAL|UNCLASSIFIED)//|\bDeclassify\s+on\b|\bSUMMARY\b|\bREF\s*:)",
    re.I,
)
_SUMMARY = re.compile(
    r"(?:SUMMARY|Summary)(?:\s+(?:AND|and|And|&)\s+[A-Za-z]+(?:\s+[A-Za-z]+)?(?=\s*[:.\-]))?"
    r"\s*[:.\-]*"
)
_SUMMARY_AGAIN = re.compile(
    r"^\s*(?:\d{1,2}\.\s*)?(?:\([A-Za-z/ ]{1,12}\)\s*)?(?:SUMMARY|Summary)\s*[:.\-]+\s*"
)
_END_SUMMARY = re.compile(r"\bEND\s+(?:OF\s+)?SUMMARY\b|\bEnd\s+(?:of\s+)?[Ss]ummary\b|\bend\s+summary\b")
_PARA_END = re.compile(r"\n[ \t]*\n|\s\d{1,2}\s*\.\s*\((?:[A-Z/ ]{1,12})\)|\s\d{1,2}\.\s+(?=[A-Z])|¶")
_LEADING_PARA = re.compile(r"^[\s\-=:.]*(?:¶?\s*\d{1,2}\s*\.\s*)?(?:\((?:[A-Z/ ]{1,12})\)\s*)?[\s:.\-]*")

# Page-break lines: "TRIPOLI 00000505 002 OF 003", "CARACAS 00001276 001.2 OF 003" — on their
# own line, or run into the text in the page form. Found by the number part, then the post
# words in front of it are removed.
_PAGE_BREAK = re.compile(r"\d{8}[ \t]+\d{3}(?:\.\d+)?[ \t]+(?:OF|of)[ \t]+\d{3}[ \t]*")


def _is_word(w: str) -> bool:
    return w[:1].isalpha() and w.replace(".", "").replace("'", "").replace("-", "").isalpha()


def _cut_post_words(before: str) -> str:
    """``before`` (the text in front of a page-break number) without the post's name at its
    end: the shortest run of trailing words that names a post, else the last word."""
    stripped = before.rstrip(" \t")
    if len(stripped) == len(before):
        return before  # the number is glued to the text: not a page break
    line = stripped[stripped.rfind("\n") + 1 :][-80:]
    words: list[str] = []
    for w in reversed(line.split()[-4:]):
        if not _is_word(w):
            break
        words.insert(0, w)
    if not words:
        return before
    k = len(words)
    for j in range(1, len(words) + 1):
        if post_token("".join(words[-j:])):
            k = j
            break
    else:
        k = 1
    parts = line.rsplit(None, k)
    keep = parts[0] if len(parts) > k else ""
    # keep the spacing before the post's first word as it was
    head = stripped[: len(stripped) - len(line)] + keep
    return head + (" " if keep else "")


def remove_page_breaks(text: str) -> str:
    """Text without its page-break lines (``TRIPOLI 00000505 002 OF 003``), whether they stand
    on their own line or were run into the text."""
    matches: list[re.Match[str]] = []
    # the page count is three digits, zero-padded: " OF 003"
    for needle in (" OF 0", " of 0"):
        i = text.find(needle)
        while i >= 0:
            m = _PAGE_BREAK.search(text, max(i - 24, 0), i + 12)
            if m and (not matches or m.start() >= matches[-1].end()):
                matches.append(m)
            i = text.find(needle, i + 5)
    if not matches:
        return text
    matches.sort(key=lambda m: m.start())
    out: list[str] = []
    pos = 0
    for m in matches:
        before = _cut_post_words(text[pos : m.start()])
        out.append(before)
        pos = m.end()
        # a page break on its own line: drop the line (and its line break) entirely
        if (not before or before.endswith("\n")) and text.startswith("\n", pos):
            pos += 1
    out.append(text[pos:])
    return "".join(out)


def _squash(s: str) -> str:
    return " ".join(s.split())


def clean_body(body: str) -> str:
    """The body as clean text: page-break lines removed, trailing spaces and runs of blank
    lines dropped; paragraph marks (``¶``) and paragraph numbers are kept as written."""
    if "\r" in body:
        body = body.replace("\r\n", "\n").replace("\r", "\n")
    body = remove_page_breaks(body)
    out: list[str] = []
    blank = True  # drops leading blank lines too
    for line in body.split("\n"):
        line = line.rstrip()
        if line:
            out.append(line)
            blank = False
        elif not blank:
            out.append("")
            blank = True
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def _classification(m: re.Match[str] | None, top: str, header: str) -> str:
    """The classification from the classification line (caveats from the lines before the
    subject), else from the header's ZNY line or a classification word at the top."""
    base = ""
    if m:
        if m.group("SECRET") or (m.group("TRUNC") and "E C R E T" in m.group("TRUNC")):
            base = "SECRET"
        elif m.group("CONFIDENTIAL") or (m.group("TRUNC") and "O N F" in m.group("TRUNC")):
            base = "CONFIDENTIAL"
        elif m.group("UNCLASSIFIED") or m.group("TRUNC") or m.group("LOU"):
            base = "UNCLASSIFIED"
    if not base:
        z = re.search(r"^ZN[YR]\s+(SSSSS|CCCCC|UUUUU|EEEEE)", header, re.M)
        if z:
            base = {"S": "SECRET", "C": "CONFIDENTIAL", "U": "UNCLASSIFIED", "E": "UNCLASSIFIED"}[
                z.group(1)[0]
            ]
        else:
            w = _CLASS_WORD.search(top[:600])
            if w:
                word = w.group(0).replace(" ", "").strip().upper()
                base = (
                    "SECRET"
                    if word.startswith("SECRET")
                    else "CONFIDENTIAL"
                    if word.startswith("CONF")
                    else "UNCLASSIFIED"
                )
    if not base:
        return ""
    subj = _SUBJECT.search(top)
    pre = top[: subj.start()] if subj else top[:500]
    if base in ("SECRET", "CONFIDENTIAL") and re.search(r"\bNOFORN\b|\bNOFORM\b|\bNO FOREIGN\b", pre):
        return base + "//NOFORN"
    if base == "UNCLASSIFIED" and re.search(r"\bSENSITIVE\b|\bFOR OFFICIAL USE ONLY\b|\bSBU\b", pre):
        return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    if m and m.group("LOU"):
        return "UNCLASSIFIED//FOR OFFICIAL USE ONLY"
    return base


def _declassify(rest: str) -> str:
    v = _DECL.match(rest.strip()).group("v").strip()  # type: ignore[union-attr]
    v = re.split(r"\s{2,}|\s(?=TAGS\b)|\s(?=SUBJECT\b)", v)[0].strip(" .,;")
    if not v:
        return ""
    if re.match(r"(?i)declassified", v):
        return v[:80]
    m = _DATE_YMD.search(v)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{y:04d}-{mo:02d}-{d:02d}"
    m = _DATE_MDY.search(v)
    if m:
        mo, d, year = int(m.group(1)), int(m.group(2)), _year4(m.group(3))
        if 1 <= mo <= 12 and 1 <= d <= 31:
            return f"{year:04d}-{mo:02d}-{d:02d}"
    m = _DATE_DMY.search(v)
    if m and m.group(2)[:3].upper() in _MONTHS:
        return f"{int(m.group(3)):04d}-{_MONTHS[m.group(2)[:3].upper()]:02d}-{int(m.group(1)):02d}"
    return v[:80]


_LEAD_PUNCT = re.compile(r"^[^0-9A-Za-z]+")


def _subject(top: str) -> tuple[str, int]:
    """(subject, offset where the opening fields after it begin).

    The subject's first line is kept as written (the site's one-line title is that line,
    without its leading punctuation: ``(S) X`` is titled ``S) X``); the lines that continue it
    are joined with single spaces, up to a blank line or the next field (REF, Classified By,
    a numbered paragraph...). In the page form, where all lines after the subject's first
    were run together, the continuation is taken only while it is upper case like the
    first line (or up to the next field marker for mixed-case subjects).
    """
    m = _SUBJECT.search(top)
    if not m:
        m = _SUBJECT_LOOSE.search(top)
        if not m:
            return "", -1
    start = m.end()
    nl = top.find("\n", start)
    if nl < 0:
        nl = len(top)
    if not top[start:nl].strip():
        # "SUBJECT:" alone on its line: the subject starts on the next one
        start = nl + 1
        nl = top.find("\n", start)
        if nl < 0:
            nl = len(top)
    first = _LEAD_PUNCT.sub("", top[start:nl].strip())
    e = _END_STRONG.search(top, start, nl)
    if e:
        # REF or Classified By on the subject's own line: the subject ends there (the site kept
        # the whole line as the title), the REF block starts there
        cut = _LEAD_PUNCT.sub("", top[start : e.start()].strip())
        return cut, e.start()
    rest = top[nl : nl + 1200]
    if "OF " in rest[:300] or "of " in rest[:300]:
        rest = remove_page_breaks(rest)
    rest = drop_page_lines(rest)  # "UNCLASSIFIED PAGE 02 HARARE 01059 01 OF 04 281501Z"
    e = _END_WEAK.search(rest)
    cont = rest[: e.start()] if e else (rest if nl + 1200 >= len(top) else "")
    end = nl + (e.start() if e else 0)
    if e and not cont.strip() and _BLANK_LINE.fullmatch(e.group(0)):
        # a blank line inside the subject: "SUBJECT: X AFTER CURRENCY\n\nREFORM\n\nREF: ..."
        paras = _BLANK_LINE.split(rest[e.end() :], 2)
        if len(paras) == 3:
            line = paras[0].strip()
            if (
                line
                and "\n" not in line
                and len(line) <= 80
                and not _END_WEAK.search(line)
                and (first.upper() != first or line.upper() == line)
                and _NEXT_IS_FIELD.match(paras[1])
            ):
                return f"{first} {_squash(line)}", nl + e.end() + len(paras[0])
    if cont.strip():
        line_end = rest.find("\n", 1)
        # the page form ran the lines after the subject's first together: a long line, or the
        # next field's marker in the middle of a line
        mid_line = e is not None and rest[rest.rfind("\n", 0, e.start()) + 1 : e.start()].strip() != ""
        run_together = line_end < 0 or line_end > 120 or mid_line
        if run_together:
            if first.upper() == first:
                keep = []
                for w in cont.split():
                    if any(c.islower() for c in w):
                        break
                    keep.append(w)
                cont = " ".join(keep)
            if len(cont) > 250:
                cont = ""
            if not cont:
                end = nl
        cont = _squash(cont)
    subject = f"{first} {cont}" if cont.strip() else first
    return _LEAD_PUNCT.sub("", subject.strip()), end


def _refs_block(top: str, after: int) -> str:
    # a REF long after the subject is not the header's REF line
    m = _REF.search(top, max(after, 0), max(after, 0) + 400) if after >= 0 else _REF.search(top, 0, 3000)
    if not m:
        return ""
    start = m.end()
    chunk = drop_page_lines(remove_page_breaks(top[start : start + 2000]))
    # a blank line ends the block unless what follows still looks like references
    parts = _BLANK_LINE.split(chunk)
    keep = [parts[0]]
    for part in parts[1:]:
        if not _REF_CONTINUES.match(part):
            break
        keep.append(part)
    chunk = "\n".join(keep)
    e = _REF_END.search(chunk)
    return chunk[: e.start()] if e else chunk[:600]


def _find_first(text: str, needles: tuple[str, ...], start: int, end: int) -> int:
    """The smallest index at which one of ``needles`` occurs in text[start:end], or -1.
    (Plain substring search: much faster than a case-insensitive regex over the text.)"""
    best = -1
    for needle in needles:
        i = text.find(needle, start, end)
        if i >= 0 and (best < 0 or i < best):
            best = i
    return best


_CB_NEEDLES = (
    "Classified By",
    "CLASSIFIED BY",
    "Classified by",
    "classified by",
    "Classified BY",
    "CLASSIFIED By",
)


def _classified_by(top: str, after: int) -> str:
    # it follows the subject and REF lines; older cables put it before the subject
    pos = _find_first(top, _CB_NEEDLES, 0, max(after, 0) + 2500)
    m = _CLASSIFIED_BY.match(top, pos) if pos >= 0 else None
    if not m:
        return ""
    chunk = top[m.end() : m.end() + 400]
    e = _CB_END.search(chunk)
    value = chunk[: e.start()] if e else chunk.split("\n\n")[0][:200]
    value = _squash(value).strip(" ,;:.-")
    if value.upper().startswith("CLASSIFIED BY"):
        value = value[13:].strip(" :")
    return value


def _summary(text: str, start: int) -> str:
    start = max(start, 0)
    m = None
    pos = _find_first(text, ("SUMMARY", "Summary"), start, start + 3000)
    while pos >= 0 and m is None:
        if pos == 0 or text[pos - 1] in " \t\n(-=":
            m = _SUMMARY.match(text, pos)
        if m is None:
            pos = _find_first(text, ("SUMMARY", "Summary"), pos + 7, start + 3000)
    if not m:
        return ""
    s = m.end()
    chunk = text[s : s + 6000]
    e = _END_SUMMARY.search(chunk)
    if e:
        value = chunk[: e.start()]
    else:
        lead = _LEADING_PARA.match(chunk)
        skip = lead.end() if lead else 0
        p = _PARA_END.search(chunk, skip + 1)
        value = chunk[: p.start()] if p else chunk[:3000]
    value = remove_page_breaks(value)
    value = _LEADING_PARA.sub("", value, count=1)
    # "1. (C) Summary. 1. (C) Summary. The political..." (a doubled opening)
    value = _SUMMARY_AGAIN.sub("", value, count=1)
    value = _squash(value).strip(" -=")
    if not e and value and value[-1] not in _SENTENCE_END:
        # the page form runs the next section's heading into the paragraph ("... September.
        # ---------- MinPet Unaware of Any Progress"): end at the last full sentence
        cut = max(value.rfind(c) for c in _SENTENCE_END)
        if cut > 0:
            value = value[: cut + 1]
    return value


_SENTENCE_END = ".!?\"'\u201d)]"


_SIGNER_LINE = re.compile(r"^[A-Z][A-Za-z'\-]+(?:[ /][A-Z][A-Za-z'\-.]+){0,2}$")
_NAME_WORD = r"(?:[A-Z][A-Z'\-]{1,25}|[A-Z][a-z]{0,3}[A-Z]?[a-z'\-]{1,25})"
_SIGNER_TAIL = re.compile(r"[.!?\"')\]:/\u201d\u2019*]\s+(" + _NAME_WORD + r"(?:/" + _NAME_WORD + r")?)\s*$")
_MIXED_NAME = re.compile(r"^[A-Z][a-z]{0,3}[A-Z]?[a-z'\-]+$")
_NOT_SIGNER = frozenset(
    [
        "BT",
        "NNNN",
        "END",
        "SIPDIS",
        "NOFORN",
        "SENSITIVE",
        "UNCLASSIFIED",
        "CONFIDENTIAL",
        "SECRET",
        "UNCLAS",
        "CABLE",
        "NOTE",
        "COMMENT",
        "TEXT",
        "QUOTE",
        "UNQUOTE",
        "ZFR",
        "ZZH",
        "NONE",
        "SUMMARY",
        "LIMITED",
        "SBU",
        "EXDIS",
        "NODIS",
        "DECL",
        "OADR",
        "THANKS",
        "TBD",
        "RELEASED",
        "NOT",
    ]
)


_TRAILER = re.compile(
    r"(?:\s+(?:NNNN|BT|ZZZZ|#\d+|SECRET|CONFIDENTIAL|UNCLASSIFIED|NOFORN|SENSITIVE|"
    r"END\s+OF\s+(?:DOCUMENT|MESSAGE|CABLE)))+\s*$"
)


def _signers(body: str) -> list[str]:
    tail = body[-_TAIL:].rstrip()
    if not tail:
        return []
    if "OF " in tail or "of " in tail:
        tail = remove_page_breaks(tail).rstrip()
    end = tail[-80:]
    trimmed = _TRAILER.sub("", end)
    if trimmed != end:
        tail = tail[: len(tail) - len(end)] + trimmed.rstrip()
    last = tail.rsplit("\n", 1)[-1].strip()
    name = ""
    if len(last) <= 40 and _SIGNER_LINE.match(last):
        words = last.replace("/", " ").split()
        # a sentence-like line in mixed case is not a name unless it is one or two words
        if last.isupper() or len(words) <= 2:
            name = last
    else:
        m = _SIGNER_TAIL.search(tail)
        if m:
            name = m.group(1)
        else:
            # the page form ran the signature into the last sentence: "... push ahead GOLDBERG",
            # "... in the Spanish media Aguirre" (after a word that is not part of a name)
            words = tail.rsplit(None, 3)
            if (
                len(words) >= 3
                and words[-1].isalpha()
                and words[-1].isupper()
                and words[-2].isalpha()
                and words[-2].isupper()
                and len(words[-2]) > 2
                and words[-2].strip("X") != ""
                and not (words[-3].isalpha() and words[-3].isupper())
                and words[-3][-1:] in _SENTENCE_END
            ):
                # "... a new beginning. TIMKEN JR" (a name of two upper-case words after a sentence)
                return [f"{words[-2]} {words[-1]}"]
            if len(words) >= 2:
                w, prev = words[-1], words[-2]
                prev_plain = prev.isalpha() and prev.isupper() and len(prev) > 2 and prev.strip("X") != ""
                if (
                    w.isalpha()
                    and 2 <= len(w) <= 25
                    and (
                        (w.isupper() and not prev_plain)
                        or (_MIXED_NAME.match(w) and (prev.islower() or not prev.isalpha()))
                    )
                ):
                    name = w
    if not name:
        return []
    parts = [p.strip() for p in name.split("/") if p.strip() and p.strip().strip("Xx")]
    if not parts or any(p.upper() in _NOT_SIGNER or p.upper().startswith("END") for p in parts):
        return []
    return parts


# --------------------------------------------------------------------------------------------
# telegram files

_HEADER_START = re.compile(
    r"^(?:VZCZC|[A-Z]{1,2}\s+(?:[A-Z]{1,2}\s+)?\d{6}Z|[A-Z]{2}\s+RUE|DE\s+RUE|R\s+\d|O\s+\d|P\s+\d|"
    r"ZNY|ZNR|FM\s|[OPRZ]{1,2}\s+RUE|INFO\s+[A-Z]{1,6}-\d\d|ACTION\s+[A-Z]{1,6}-\d\d)"
)
_FM_ROUTING = re.compile(r"^FM:?[ \t]+[A-Z][A-Z0-9 /.,'()&\-]*\n[ \t]*(?:TO|INFO)\b", re.M)
_META = re.compile(
    r"^\s*(?P<key>reference\s*id|ref(?:erence)?\.?\s*(?:no|number)?|id|cable|subject|title|date|created|"
    r"released|classification|origin|tags|from|sent)\s*[:|=]\s*(?P<value>.*?)\s*\|?\s*$",
    re.I,
)
_META_KEYS = {
    "referenceid": "reference_id",
    "ref": "reference_id",
    "reference": "reference_id",
    "refno": "reference_id",
    "referenceno": "reference_id",
    "referencenumber": "reference_id",
    "id": "reference_id",
    "cable": "reference_id",
    "subject": "subject",
    "title": "subject",
    "date": "created",
    "created": "created",
    "sent": "created",
    "released": "released",
    "classification": "classification",
    "origin": "origin",
    "from": "origin",
    "tags": "tags",
}
_BARE_ID = re.compile(r"^\s*(\d{2}[A-Z][A-Z0-9]*?\d+)\s*$")


def read_metadata(text: str) -> tuple[dict[str, str], str]:
    """Leading ``Key: value`` metadata lines before a telegram (reference ID, subject, date,
    classification, origin; also a bare reference ID on the first line).

    Returns (metadata with keys among reference_id, subject, created, released,
    classification, origin, tags; the rest of the text). Stops at the first line that is not
    metadata; blank lines between metadata lines are allowed.
    """
    meta: dict[str, str] = {}
    pos = 0
    n = len(text)
    consumed = 0
    lines_seen = 0
    while pos < n and lines_seen < 12:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        line = text[pos:end]
        nxt = end + 1
        lines_seen += 1
        if not line.strip():
            pos = nxt
            continue
        m = _META.match(line)
        if m:
            key = _META_KEYS.get(re.sub(r"[^a-z]", "", m.group("key").lower()))
            if key and m.group("value"):
                meta.setdefault(key, m.group("value"))
                pos = consumed = nxt
                continue
            if key:
                pos = consumed = nxt
                continue
        b = _BARE_ID.match(line)
        if b and not meta and lines_seen == 1:
            meta["reference_id"] = b.group(1)
            pos = consumed = nxt
            continue
        break
    if not meta:
        return {}, text
    return meta, text[consumed:]


def split_telegram(text: str) -> tuple[str, str]:
    """Split a bare telegram into (header, body): the routing header block, a blank line, the
    body. A telegram without a header gives ("", text). Leading metadata lines
    (``Reference ID: ...``) are skipped; read them with :func:`read_metadata`."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    meta, rest = read_metadata(text)
    if meta.keys() & {"reference_id", "created", "released", "classification", "origin"}:
        text = rest  # (a TAGS or SUBJECT line alone is the telegram's own)
    stripped = text.lstrip("\n")
    # a routing block (FM line, then TO/INFO) near the top, perhaps after received-copy lines
    # ("CONFIDENTIAL / PAGE 01 ... / ACTION AF-00 / INFO LOG-00 ..."): the header ends at the
    # first blank line after it
    fm = _FM_ROUTING.search(stripped, 0, 8000)
    if fm:
        blank = _BLANK_LINE.search(stripped, fm.end())
        if not blank:
            return stripped.strip("\n"), ""
        return stripped[: blank.start()].strip("\n"), stripped[blank.end() :].strip("\n")
    first = stripped.split("\n", 1)[0].strip()
    if not _HEADER_START.match(first):
        return "", text.strip("\n")
    # the header ends at the first blank line after the FM/TO/INFO block; some headers have a
    # blank line right after the VZCZC/precedence lines, so go on while header-like lines follow
    blocks = re.split(r"\n[ \t]*\n", stripped)
    header_parts = [blocks[0]]
    i = 1
    has_fm = bool(_FM.search(blocks[0]))
    while i < len(blocks) and not has_fm:
        b = blocks[i]
        b_first = b.lstrip().split("\n", 1)[0]
        if _HEADER_START.match(b_first) or b_first.startswith(("DE ", "TO ", "INFO ")):
            header_parts.append(b)
            has_fm = bool(_FM.search(b))
            i += 1
        else:
            break
    header = "\n".join(header_parts)
    body = "\n\n".join(blocks[i:])
    return header.strip("\n"), body.strip("\n")


# --------------------------------------------------------------------------------------------
# extract


_PAGE_BREAK_ID = re.compile(
    r"^[ \t]*([A-Z][A-Z .'\-]{1,40}?)[ \t]+(\d{8})[ \t]+\d{3}(?:\.\d+)?[ \t]+OF[ \t]+\d{3}", re.M
)
_DE_LINE = re.compile(r"^DE\s+([A-Z]{4,7})\s+#(\d{1,5})", re.M)


def _evidence(cm: re.Match[str] | None, header: str, body: str, fm: str, year: str, name_id: str) -> Evidence:
    """What the telegram says about its own ID: classification line, DE and FM lines, a
    page-break line (``TRIPOLI 00000505 002 OF 003``), and the file name's ID."""
    ev = Evidence(year=year, name_id=name_id, fm_post=fm_post(fm) if fm else "")
    if cm and post_token(cm.group("post")):
        ev.class_post, ev.class_num = post_token(cm.group("post")), cm.group("num")
    d = _DE_LINE.search(header)
    if d:
        ev.de_route, ev.de_num = d.group(1), d.group(2)
    if not ev.class_post:  # (a page-break line only counts where the classification line is unread)
        m = _PAGE_BREAK_ID.search(body)
        if m and post_token(m.group(1)):
            ev.page_post, ev.page_num = post_token(m.group(1)), m.group(2)
    return ev


def _disagree(cable: Cable, field: str, mine: str) -> None:
    cable.warnings.append(f"{field}: the telegram says {mine!r}, kept {getattr(cable, field)!r}")


def extract(header: str, body: str, cable: Cable, name_id: str = "") -> Cable:
    """Fill ``cable`` with the fields found in a telegram's header and body, and return it.

    Fields the container already set are kept (reference ID, created, released,
    classification, origin, subject); when the telegram disagrees a warning is added. Derived
    where missing: the reference ID from the classification line's post and number plus the
    year of the date-time group (``C O N F I D E N T I A L KIGALI 000796`` + ``101633Z NOV 08``
    → ``08KIGALI796``), or from the evidence that agrees where the classification line, the
    header's DE and FM lines and the file name's ID (``name_id``) differ (``evidence.choose_id``,
    which says so in warnings), created from the date-time group, origin from the reference ID's post
    or else the FM line. ``header`` and ``body`` are stored (body cleaned) when the cable has
    none yet.

    Conventions: the subject starts like the site's one-line title (its first line as written,
    leading punctuation dropped: ``(S) X`` → ``S) X``) and goes on across its line breaks;
    tags as ``tags.find_tags`` reads the TAGS block (continued lines included, glued codes
    split, multi-word and person tags whole); ``created`` from a date-time group is the DTG's own time
    (the site's page shows the minutes differently).
    """
    body, header = _unix_newlines(body), _unix_newlines(header)
    top = body[:_TOP]
    created, fm, to, info = _header_fields(header, top)
    cm = _CLASS_LINE.search(top[:3000])
    _fill_reference_id(cable, cm, header, body, fm, created, name_id)
    _fill_container_fields(cable, created, _classification(cm, top, header), fm)
    if not cable.to:
        cable.to = to
    if not cable.info:
        cable.info = info
    _fill_body_fields(cable, top, body)
    if not cable.header and header:
        cable.header = header.strip("\n")
    if not cable.body and body:
        cable.body = clean_body(body)
    if not cable.reference_id:
        cable.warnings.append("reference_id: not found and not derivable from the text")
    return cable


def _unix_newlines(text: str) -> str:
    """``text`` with CR LF and lone CR line ends turned into LF."""
    if "\r" in text:
        return text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def _header_fields(header: str, top: str) -> tuple[datetime | None, str, list[str], list[str]]:
    """The header's date-time group, FM line, TO and INFO addressees.

    When the header gives no DTG (a header run into the body with no blank line, or a DTG on
    its own line at the top), the DTG and FM line are looked for at the top of the body.
    """
    created, fm, to, info = _parse_header(header) if header else (None, "", [], [])
    if created is None:
        m = _HEADER_DTG.search(top[:2000])
        if m:
            created = _dtg_from_match(m)
        if not fm:
            f = _FM.search(top[:2000])
            if f:
                fm = f.group(1)
    return created, fm, to, info


def _fill_reference_id(
    cable: Cable,
    cm: re.Match[str] | None,
    header: str,
    body: str,
    fm: str,
    created: datetime | None,
    name_id: str,
) -> None:
    """Set the cable's reference ID from the evidence, or check the container's against it.

    The two-digit year comes from the telegram's DTG, else from the container's date.
    """
    year = ""
    if created:
        year = f"{created.year % 100:02d}"
    elif cable.created:
        year = f"{cable.created.year % 100:02d}"
    if not cable.reference_id:
        cable.reference_id, notes = choose_id(_evidence(cm, header, body, fm, year, name_id))
        cable.warnings.extend(notes)
        return
    cable.reference_id = canonical_id(cable.reference_id)
    ev = _evidence(cm, header, body, fm, year, "")
    if ev.class_post and year and make_id(year, ev.class_post, ev.class_num) == cable.reference_id:
        disagree = header_disagreement(ev)  # the usual case: the classification line agrees
        cable.warnings.extend([f"header and body disagree: {disagree}"] if disagree else [])
        return
    derived_id, whys = choose_id(ev)
    if derived_id and derived_id != cable.reference_id:
        cable.warnings.append(f"reference_id: the telegram gives {derived_id!r}, kept {cable.reference_id!r}")
    cable.warnings.extend(w for w in whys if w.startswith("header and body disagree:"))


def _fill_container_fields(cable: Cable, created: datetime | None, classification: str, fm: str) -> None:
    """Fill created, classification and origin where missing; warn where the telegram disagrees.

    Origin comes from the FM line, else from the reference ID's post.
    """
    if cable.created is None:
        if created is not None:
            cable.created = created
    elif created is not None and created.date() != cable.created.date():
        _disagree(cable, "created", created.strftime("%Y-%m-%d %H:%M"))

    if not cable.classification:
        cable.classification = classification
    elif classification and classification.split("//")[0] != cable.classification.split("//")[0]:
        _disagree(cable, "classification", classification)

    origin = origin_from_fm(fm) if fm else ""
    if not origin and cable.reference_id:
        origin = origin_from_post(cable.reference_id)
    if not cable.origin:
        cable.origin = origin
    elif origin and origin != cable.origin:
        _disagree(cable, "origin", origin)


def _fill_body_fields(cable: Cable, top: str, body: str) -> None:
    """Fill what the body's opening block gives (E.O. line, TAGS, SUBJECT, REF, CLASSIFIED BY,
    summary) and the signers at its end, where the cable has none yet."""
    eo = _EO.search(top)
    if eo and not cable.declassify_on:
        cable.declassify_on = _declassify(eo.group("rest"))
    if not cable.tags:
        cable.tags = find_tags(top)

    subject, subj_end = _subject(top)
    if subject:
        if not cable.subject:
            cable.subject = subject
        elif not subject.startswith(cable.subject[:40]) and not cable.subject.startswith(subject[:40]):
            cable.warnings.append(f"subject: the telegram says {subject!r}, kept {cable.subject!r}")

    if not cable.references:
        block = _refs_block(top, subj_end)
        if block:
            citing = (
                cable.reference_id[:2]
                if cable.reference_id[:2].isdigit()
                else (f"{cable.created.year % 100:02d}" if cable.created else None)
            )
            own = cable.reference_id
            cable.references = [r for r in parse_refs(block, citing) if r != own]

    if not cable.classified_by:
        cable.classified_by = _classified_by(top, subj_end)
    if not cable.summary:
        cable.summary = _summary(top, max(subj_end, 0))
    if not cable.signers:
        cable.signers = _signers(body)
