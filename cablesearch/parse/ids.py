"""Reference IDs: canonical form, construction, and the IDs cited by a cable's REF line.

A reference ID is a two-digit year, a post token and a running number: ``08TRIPOLI505``,
``07STATE1234``, ``06USUNNEWYORK123``. The post tokens are the ones that occur in the IDs of the
2011 release (``POST_TOKENS``, derived from every real ID in it); REF lines name posts the way
people write them (``SECSTATE``, ``USUN NEW YORK``, ``ABU DHABI``, ``RIO``), which
``post_token`` maps to those tokens.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import lru_cache

# Every post token that occurs at least three times in the reference IDs of the 2011 release
# (misspelt and SECTION-garbled one-offs left out; they are handled by canonical_id).
POST_TOKENS: frozenset[str] = frozenset(
    [
        "ABIDJAN",
        "ABUDHABI",
        "ABUJA",
        "ACCRA",
        "ADANA",
        "ADDISABABA",
        "AITTAIPEI",
        "ALEXANDRIA",
        "ALGIERS",
        "ALMATY",
        "AMMAN",
        "AMSTERDAM",
        "ANKARA",
        "ANTANANARIVO",
        "APIA",
        "ASHGABAT",
        "ASMARA",
        "ASTANA",
        "ASUNCION",
        "ATHENS",
        "AUCKLAND",
        "BAGHDAD",
        "BAKU",
        "BAMAKO",
        "BANDARSERIBEGAWAN",
        "BANGKOK",
        "BANGUI",
        "BANJUL",
        "BARCELONA",
        "BASRAH",
        "BEIJING",
        "BEIRUT",
        "BELFAST",
        "BELGRADE",
        "BELIZE",
        "BELMOPAN",
        "BERLIN",
        "BERN",
        "BISHKEK",
        "BOGOTA",
        "BRASILIA",
        "BRATISLAVA",
        "BRAZZAVILLE",
        "BRIDGETOWN",
        "BRUSSELS",
        "BUCHAREST",
        "BUDAPEST",
        "BUENOSAIRES",
        "BUJUMBURA",
        "CAIRO",
        "CALCUTTA",
        "CALGARY",
        "CANBERRA",
        "CAPETOWN",
        "CARACAS",
        "CASABLANCA",
        "CDGENEVA",
        "CHENGDU",
        "CHENNAI",
        "CHIANGMAI",
        "CHISINAU",
        "CIUDADJUAREZ",
        "COLOMBO",
        "CONAKRY",
        "COPENHAGEN",
        "COTONOU",
        "CURACAO",
        "DAKAR",
        "DAMASCUS",
        "DARESSALAAM",
        "DHAHRAN",
        "DHAKA",
        "DILI",
        "DJIBOUTI",
        "DOHA",
        "DUBAI",
        "DUBLIN",
        "DURBAN",
        "DUSHANBE",
        "DUSSELDORF",
        "FLORENCE",
        "FRANKFURT",
        "FREETOWN",
        "FUKUOKA",
        "GABORONE",
        "GENEVA",
        "GEORGETOWN",
        "GRENADA",
        "GUADALAJARA",
        "GUANGZHOU",
        "GUATEMALA",
        "GUAYAQUIL",
        "HALIFAX",
        "HAMBURG",
        "HAMILTON",
        "HANOI",
        "HARARE",
        "HAVANA",
        "HELSINKI",
        "HERMOSILLO",
        "HILLAH",
        "HOCHIMINHCITY",
        "HONGKONG",
        "HYDERABAD",
        "IRANRPODUBAI",
        "ISLAMABAD",
        "ISTANBUL",
        "IZMIR",
        "JAKARTA",
        "JEDDAH",
        "JERUSALEM",
        "JOHANNESBURG",
        "KABUL",
        "KADUNA",
        "KAMPALA",
        "KARACHI",
        "KATHMANDU",
        "KHARTOUM",
        "KIEV",
        "KIGALI",
        "KINGSTON",
        "KINSHASA",
        "KIRKUK",
        "KOLKATA",
        "KOLONIA",
        "KOROR",
        "KUALALUMPUR",
        "KUWAIT",
        "KYIV",
        "LAGOS",
        "LAHORE",
        "LAPAZ",
        "LEIPZIG",
        "LIBREVILLE",
        "LILONGWE",
        "LIMA",
        "LISBON",
        "LJUBLJANA",
        "LOME",
        "LONDON",
        "LUANDA",
        "LUSAKA",
        "LUXEMBOURG",
        "MADRAS",
        "MADRID",
        "MAJURO",
        "MALABO",
        "MANAGUA",
        "MANAMA",
        "MANILA",
        "MAPUTO",
        "MARSEILLE",
        "MASERU",
        "MATAMOROS",
        "MBABANE",
        "MELBOURNE",
        "MERIDA",
        "MEXICO",
        "MILAN",
        "MINSK",
        "MOGADISHU",
        "MONROVIA",
        "MONTERREY",
        "MONTEVIDEO",
        "MONTREAL",
        "MOSCOW",
        "MOSUL",
        "MUMBAI",
        "MUNICH",
        "MUSCAT",
        "NAGOYA",
        "NAHA",
        "NAIROBI",
        "NAPLES",
        "NASSAU",
        "NDJAMENA",
        "NEWDELHI",
        "NIAMEY",
        "NICOSIA",
        "NOGALES",
        "NOUAKCHOTT",
        "NUEVOLAREDO",
        "OSAKAKOBE",
        "OSLO",
        "OTTAWA",
        "OUAGADOUGOU",
        "PANAMA",
        "PARAMARIBO",
        "PARIS",
        "PARISFR",
        "PARTO",
        "PERTH",
        "PESHAWAR",
        "PHNOMPENH",
        "PODGORICA",
        "PORTAUPRINCE",
        "PORTLOUIS",
        "PORTMORESBY",
        "PORTOFSPAIN",
        "PRAGUE",
        "PRAIA",
        "PRETORIA",
        "PRISTINA",
        "QUEBEC",
        "QUITO",
        "RABAT",
        "RANGOON",
        "RECIFE",
        "REYKJAVIK",
        "RIGA",
        "RIODEJANEIRO",
        "RIYADH",
        "ROME",
        "RPODUBAI",
        "SANAA",
        "SANJOSE",
        "SANSALVADOR",
        "SANTIAGO",
        "SANTODOMINGO",
        "SAOPAULO",
        "SAPPORO",
        "SARAJEVO",
        "SEOUL",
        "SHANGHAI",
        "SHENYANG",
        "SINGAPORE",
        "SKOPJE",
        "SOFIA",
        "STATE",
        "STOCKHOLM",
        "STPETERSBURG",
        "STRASBOURG",
        "SURABAYA",
        "SUVA",
        "SYDNEY",
        "TAIPEI",
        "TALLINN",
        "TASHKENT",
        "TBILISI",
        "TEGUCIGALPA",
        "TEHRAN",
        "TELAVIV",
        "THEHAGUE",
        "THESSALONIKI",
        "TIJUANA",
        "TIRANA",
        "TOKYO",
        "TORONTO",
        "TRIPOLI",
        "TUNIS",
        "ULAANBAATAR",
        "UNESCOPARISFR",
        "UNROME",
        "UNVIEVIENNA",
        "USEUBRUSSELS",
        "USNATO",
        "USOSCE",
        "USUNNEWYORK",
        "VALLETTA",
        "VANCOUVER",
        "VATICAN",
        "VIENNA",
        "VIENTIANE",
        "VILNIUS",
        "VLADIVOSTOK",
        "WARSAW",
        "WASHDC",
        "WELLINGTON",
        "WINDHOEK",
        "YAOUNDE",
        "YEKATERINBURG",
        "YEREVAN",
        "ZAGREB",
    ]
)

# How cables name a post in text (classification lines, REF lines, FM lines) where that
# differs from the token in the IDs. Keys are the words joined without spaces.
POST_ALIASES: dict[str, str] = {
    "SECSTATE": "STATE",
    "SECSTATEWASHDC": "STATE",
    "STATEDEPT": "STATE",
    "USUN": "USUNNEWYORK",
    "USUNNY": "USUNNEWYORK",
    "USUNNEWYORKNY": "USUNNEWYORK",
    "USMISSIONUSUNNEWYORK": "USUNNEWYORK",
    "NEWYORK": "USUNNEWYORK",
    "RIO": "RIODEJANEIRO",
    "DUBAIRPO": "RPODUBAI",
    "IRANRPO": "IRANRPODUBAI",
    "UNVIE": "UNVIEVIENNA",
    "USMISSIONUNVIEVIENNA": "UNVIEVIENNA",
    "USEU": "USEUBRUSSELS",
    "USMISSIONUSNATO": "USNATO",
    "USMISSIONUSOSCE": "USOSCE",
    "USMISSIONGENEVA": "GENEVA",
    "AIT": "AITTAIPEI",
    "HCMC": "HOCHIMINHCITY",
    "HOCHIMINH": "HOCHIMINHCITY",
    "SAINTPETERSBURG": "STPETERSBURG",
    "PORTAUPRINCEHAITI": "PORTAUPRINCE",
    "HAGUE": "THEHAGUE",
    "UNESCOPARIS": "UNESCOPARISFR",
    "DARESSALAM": "DARESSALAAM",
    "SANTODOMINGODR": "SANTODOMINGO",
}

_NON_ALNUM = re.compile(r"[^A-Z0-9]")


def post_token(text: str) -> str:
    """The ID post token for a post as written in a cable (``"ABU DHABI"`` → ``"ABUDHABI"``,
    ``"SECSTATE"`` → ``"STATE"``, ``"USUN NEW YORK"`` → ``"USUNNEWYORK"``); "" if unknown."""
    key = _NON_ALNUM.sub("", text.upper())
    if key in POST_TOKENS:
        return key
    return POST_ALIASES.get(key, "")


def make_id(year2: str | int, post: str, number: str | int) -> str:
    """Build a canonical reference ID from a year (2 or 4 digits), a post as written and a
    number: ``make_id("08", "KIGALI", "000796")`` → ``"08KIGALI796"``. Returns "" when a part
    is missing or not usable."""
    y = str(year2).strip()
    if len(y) == 4 and y.isdigit():
        y = y[2:]
    if len(y) != 2 or not y.isdigit():
        return ""
    n = str(number).strip().lstrip("0")
    if not n.isdigit():
        return ""
    p = post_token(post) or _NON_ALNUM.sub("", post.upper())
    if not p or not p.isalpha():
        return ""
    return f"{y}{p}{n}"


def _strip_section_garbage(post: str) -> str:
    """``ECTION01OF02MANAMA`` → ``MANAMA``: the known post token after the garbage's last
    digit; the input unchanged when no known post follows (``STATE255195TOSEC``, ``2OF``)."""
    if post in POST_TOKENS:
        return post
    last_digit = max(i for i, c in enumerate(post) if c.isdigit())
    for i in range(last_digit + 1, len(post) - 2):
        tail = post[i:]
        if tail in POST_TOKENS:
            return tail
        if tail in _ID_ALIASES:
            return _ID_ALIASES[tail]
    return post


# Aliases that occur inside reference IDs themselves (the others are ways of writing a post in
# REF lines, which the release's IDs never use).
_ID_ALIASES = {"SECSTATE": "STATE", "SECSTATEWASHDC": "STATE"}


def canonical_id(raw: str) -> str:
    """The canonical form of a reference ID.

    Upper-cases and strips whitespace, removes section garbage glued into malformed IDs
    (``08ECTION01OF02MANAMA492`` → ``08MANAMA492``), maps ``SECSTATE`` to ``STATE``
    (``07SECSTATE1234`` → ``07STATE1234``), and drops leading zeros of the number. IDs that do not look like reference IDs come back upper-cased
    and trimmed, unchanged otherwise.
    """
    s = _NON_ALNUM.sub("", raw.strip().upper())
    if not s:
        return ""
    if s in _ID_ALIASES:  # a bare post, e.g. "SECSTATE"
        return _ID_ALIASES[s]
    year = s[:2]
    if not year.isdigit() or len(s) < 4:
        return s
    rest = s[2:]
    m = re.match(r"^(.*?[A-Z])0*(\d+)$", rest)
    if not m:
        return s
    post, number = m.group(1), m.group(2)
    if any(c.isdigit() for c in post):
        post = _strip_section_garbage(post)
    if post not in POST_TOKENS:
        post = _ID_ALIASES.get(post, post)
    if number == "0" or not number:
        return s
    return f"{year}{post}{number}"


# ---------------------------------------------------------------------------------------------
# REF lines

_WORD_RE = re.compile(r"_Y\d+|[A-Za-z]+|\d+")
_POSTFIX_YEAR = re.compile(r"\b(\d{1,7})\s*\(((?:19|20)?\d{2})\)")
# Things in a REF line that are not cables: the word right before the number says so.
_NOT_CABLE_BEFORE = frozenset(
    [
        "IIR",
        "DTG",
        "TD",
        "OSC",
        "MSG",
        "EMAIL",
        "MAIL",
        "TELCON",
        "FAX",
        "MEMO",
        "MEMCON",
        "NOTE",
        "LETTER",
        "CPP",
        "FEA",
        "PARA",
        "PARAS",
        "PARAGRAPH",
        "CA",
        "A",
        "B",
        "C",
        "D",
        "E",
        "F",
        "G",
        "H",
        "I",
        "J",
        "K",
        "L",
        "M",
        "N",
        "O",
        "P",
        "Q",
        "R",
        "S",
        "T",
        "U",
        "V",
        "W",
        "X",
        "Y",
        "Z",
    ]
)
_MONTHS = frozenset(
    [
        "JAN",
        "FEB",
        "MAR",
        "APR",
        "MAY",
        "JUN",
        "JUL",
        "AUG",
        "SEP",
        "SEPT",
        "OCT",
        "NOV",
        "DEC",
        "JANUARY",
        "FEBRUARY",
        "MARCH",
        "APRIL",
        "JUNE",
        "JULY",
        "AUGUST",
        "SEPTEMBER",
        "OCTOBER",
        "NOVEMBER",
        "DECEMBER",
    ]
)
_MAX_POST_WORDS = 4


# Senders other than posts whose serials REF lines cite ("SECDEF 122723"): IDs are made with
# them as they are written.
OTHER_SENDERS = frozenset(
    [
        "SECDEF",
        "CJCS",
        "JCS",
        "DIA",
        "USDAO",
        "USCENTCOM",
        "CDRUSCENTCOM",
        "USCINCCENT",
        "USEUCOM",
        "USPACOM",
        "USSOUTHCOM",
        "USSOCOM",
        "USNORTHCOM",
        "USAFRICOM",
        "JOINTSTAFF",
        "USCINCPAC",
        "CINCPAC",
        "USCINCEUR",
    ]
)
_TOKENS_BY_LENGTH = sorted(POST_TOKENS)


@lru_cache(maxsize=4096)
def _prefix_post(key: str) -> str:
    """The post token ``key`` abbreviates (``RIODEJAN`` → ``RIODEJANEIRO``), if exactly one
    token starts with it and it has at least six letters; else ""."""
    if len(key) < 6:
        return ""
    i = bisect_left(_TOKENS_BY_LENGTH, key)
    hits = []
    while i < len(_TOKENS_BY_LENGTH) and _TOKENS_BY_LENGTH[i].startswith(key):
        hits.append(_TOKENS_BY_LENGTH[i])
        i += 1
    return hits[0] if len(hits) == 1 else ""


def _match_post(words: list[str], end: int) -> tuple[str, int]:
    """The longest run of words ending before ``end`` that names a post: (token, start).
    Posts may be abbreviated (``RIO DE JAN``) or be another sender (``SECDEF``)."""
    best = ("", end)
    for k in range(1, _MAX_POST_WORDS + 1):
        start = end - k
        if start < 0:
            break
        chunk = words[start:end]
        if any(not w.isalpha() for w in chunk):
            break
        key = "".join(chunk)
        tok = post_token(key) or _prefix_post(key) or (key if key in OTHER_SENDERS else "")
        if tok:
            best = (tok, start)
    return best


def parse_refs(ref_text: str, citing_year: str | int | None) -> list[str]:
    """The canonical IDs of the cables a REF line cites, in order, without duplicates.

    Understands ``A. STATE 12345 B. 07 TRIPOLI 481 C) 2008 BOGOTA 4165 D. USUN NEW YORK 12``
    and ``STATE 06 12345`` (year after the post); a reference without a year takes
    ``citing_year`` (the citing cable's year, 2 or 4 digits); e-mails, phone calls, IIRs, DTGs
    and other non-cable references are skipped. Page-break lines should be removed first.
    """
    cy = "" if citing_year is None else str(citing_year)
    if len(cy) == 4:
        cy = cy[2:]
    # "BRASILIA 709 (08)": a year in brackets after the number
    text = _POSTFIX_YEAR.sub(r"\1 _Y\2", ref_text.upper())
    words = _WORD_RE.findall(text)
    out: list[str] = []
    seen: set[str] = set()
    used: set[int] = set()
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        if not w.isdigit():
            # glued post+number, e.g. BELGRADE743 is split by the regex already; skip words
            i += 1
            continue
        tok, start = _match_post(words, i)
        if not tok:
            i += 1
            continue
        number = w
        nxt = i + 1
        year = ""
        # "STATE 06 12345": a 2-digit year between post and number
        if len(w) == 2 and nxt < n and words[nxt].isdigit() and len(words[nxt]) >= 3:
            year, number = w, words[nxt]
            nxt += 1
        if nxt < n and words[nxt].startswith("_Y"):
            year = words[nxt][2:][-2:]
            nxt += 1
        # the word after the number must not make it a date ("STATE 2 NOV 1966")
        if nxt < n and words[nxt] in _MONTHS:
            i = nxt
            continue
        if not year and start > 0 and (start - 1) not in used:
            prev = words[start - 1]
            if prev.isdigit() and (len(prev) == 2 or (len(prev) == 4 and prev[:2] in ("19", "20"))):
                year = prev[-2:]
        if not year:
            year = cy
        if len(number) > 7 or not year:
            i = nxt
            continue
        cid = make_id(year, tok, number)
        if cid and cid not in seen:
            seen.add(cid)
            out.append(cid)
        used.update(range(i, nxt))
        i = nxt
    return out
