"""Origin naming: the post that sent a cable, named as the cablegate site names posts.

The site names a post after the post token of the cable's reference ID ("Embassy Tripoli",
"Consulate Lagos", "Secretary of State", "Mission USNATO", "USUN New York", "Embassy Kyiv" for
``KIEV`` IDs too). ``origin_from_post`` does that from an ID or post token; ``origin_from_fm``
does it from a telegram's FM line (``FM AMEMBASSY TRIPOLI``), through the same table where the
post is known, and from the line's own words (``AMCONSUL X`` → "Consulate X") where it is not.
"""

from __future__ import annotations

import re

from cablesearch.parse.ids import POST_TOKENS, canonical_id, post_token

# Posts the site names other than "Embassy <Post>".
_SPECIAL: dict[str, str] = {
    "STATE": "Secretary of State",
    "WASHDC": "Secretary of State",
    "USUNNEWYORK": "USUN New York",
    "USNATO": "Mission USNATO",
    "USOSCE": "Mission USOSCE",
    "UNESCOPARISFR": "Mission UNESCO",
    "UNVIEVIENNA": "UNVIE",
    "USEUBRUSSELS": "USEU Brussels",
    "GENEVA": "US Mission Geneva",
    "ALMATY": "US Office Almaty",
    "HAVANA": "US Interests Section Havana",
    "AITTAIPEI": "American Institute Taiwan, Taipei",
    "TAIPEI": "American Institute Taiwan, Taipei",
    "BASRAH": "REO Basrah",
    "HILLAH": "REO Hillah",
    "KIRKUK": "REO Kirkuk",
    "MOSUL": "REO Mosul",
    "RPODUBAI": "Iran RPO Dubai",
    "IRANRPODUBAI": "Iran RPO Dubai",
    "KIEV": "Embassy Kyiv",
    "PARISFR": "Embassy Paris",
    "UNROME": "UN Rome",
    "CDGENEVA": "CD Geneva",
}

# Post names with spaces (the IDs run the words together).
_SPACED: dict[str, str] = {
    "ABUDHABI": "Abu Dhabi",
    "ADDISABABA": "Addis Ababa",
    "BANDARSERIBEGAWAN": "Bandar Seri Begawan",
    "BUENOSAIRES": "Buenos Aires",
    "DARESSALAAM": "Dar Es Salaam",
    "KUALALUMPUR": "Kuala Lumpur",
    "LAPAZ": "La Paz",
    "NEWDELHI": "New Delhi",
    "PHNOMPENH": "Phnom Penh",
    "PORTAUPRINCE": "Port Au Prince",
    "PORTLOUIS": "Port Louis",
    "PORTMORESBY": "Port Moresby",
    "PORTOFSPAIN": "Port Of Spain",
    "SANJOSE": "San Jose",
    "SANSALVADOR": "San Salvador",
    "SANTODOMINGO": "Santo Domingo",
    "TELAVIV": "Tel Aviv",
    "THEHAGUE": "The Hague",
    "CAPETOWN": "Cape Town",
    "CHIANGMAI": "Chiang Mai",
    "CIUDADJUAREZ": "Ciudad Juarez",
    "HOCHIMINHCITY": "Ho Chi Minh City",
    "HONGKONG": "Hong Kong",
    "NUEVOLAREDO": "Nuevo Laredo",
    "OSAKAKOBE": "Osaka Kobe",
    "RIODEJANEIRO": "Rio De Janeiro",
    "SAOPAULO": "Sao Paulo",
    "STPETERSBURG": "St Petersburg",
    "PONTADELGADA": "Ponta Delgada",
}

# Consulates (and consulates general) among the post tokens.
_CONSULATES: frozenset[str] = frozenset(
    [
        "ADANA",
        "ALEXANDRIA",
        "AMSTERDAM",
        "AUCKLAND",
        "BARCELONA",
        "BELFAST",
        "CALCUTTA",
        "CALGARY",
        "CAPETOWN",
        "CASABLANCA",
        "CHENGDU",
        "CHENNAI",
        "CHIANGMAI",
        "CIUDADJUAREZ",
        "CURACAO",
        "DHAHRAN",
        "DUBAI",
        "DURBAN",
        "DUSSELDORF",
        "FLORENCE",
        "FRANKFURT",
        "FUKUOKA",
        "GUADALAJARA",
        "GUANGZHOU",
        "GUAYAQUIL",
        "HALIFAX",
        "HAMBURG",
        "HAMILTON",
        "HERMOSILLO",
        "HOCHIMINHCITY",
        "HONGKONG",
        "HYDERABAD",
        "ISTANBUL",
        "IZMIR",
        "JEDDAH",
        "JERUSALEM",
        "JOHANNESBURG",
        "KADUNA",
        "KARACHI",
        "KOLKATA",
        "LAGOS",
        "LAHORE",
        "LEIPZIG",
        "MADRAS",
        "MARSEILLE",
        "MATAMOROS",
        "MELBOURNE",
        "MERIDA",
        "MILAN",
        "MONTERREY",
        "MONTREAL",
        "MUMBAI",
        "MUNICH",
        "NAGOYA",
        "NAHA",
        "NAPLES",
        "NOGALES",
        "NUEVOLAREDO",
        "OSAKAKOBE",
        "PERTH",
        "PESHAWAR",
        "PONTADELGADA",
        "QUEBEC",
        "RECIFE",
        "RIODEJANEIRO",
        "SAOPAULO",
        "SAPPORO",
        "SHANGHAI",
        "SHENYANG",
        "STPETERSBURG",
        "STRASBOURG",
        "SURABAYA",
        "SYDNEY",
        "THESSALONIKI",
        "TIJUANA",
        "TORONTO",
        "VANCOUVER",
        "VLADIVOSTOK",
        "YEKATERINBURG",
        "KRAKOW",
        "LENINGRAD",
        "BOMBAY",
    ]
)

_ID_POST = re.compile(r"^\d{2}([A-Z]+)\d+$")


def _place(token: str) -> str:
    return _SPACED.get(token) or token.title()


def origin_from_post(post_or_id: str) -> str:
    """The site's origin name for a post token or a reference ID (``"08TRIPOLI505"`` or
    ``"TRIPOLI"`` → ``"Embassy Tripoli"``, ``"LAGOS"`` → ``"Consulate Lagos"``,
    ``"07STATE1234"`` → ``"Secretary of State"``); "" when the post is not a known post."""
    s = post_or_id.strip().upper()
    if s[:2].isdigit():
        m = _ID_POST.match(canonical_id(s))
        if not m:
            return ""
        s = m.group(1)
    token = s if s in POST_TOKENS or s in _SPECIAL else post_token(s)
    if not token:
        return ""
    if token in _SPECIAL:
        return _SPECIAL[token]
    if token in _CONSULATES:
        return "Consulate " + _place(token)
    return "Embassy " + _place(token)


# FM-line prefixes and the kind of post they name.
_FM_PREFIX = re.compile(
    r"^(?:FM:?\s+)?(?:(AMEMBASSY|AMEMB|EMBASSY|AMCONSUL|AMCONGEN|CONGEN|CONSUL|USMISSION|USMISSON|"
    r"USDEL|USOFFICE|USLO|USINT|AIT|REO|AMREP|USCINC\w*)\s+)?(.*)$"
)
_FM_NOISE = re.compile(r"\s+(?:IMMEDIATE|PRIORITY|ROUTINE|FLASH|NIACT)\b.*$|\s+\d+\s*$")


def origin_from_fm(fm: str) -> str:
    """The site's origin name for a telegram's FM line (with or without the ``FM`` and a
    routing indicator): ``AMEMBASSY TRIPOLI`` → "Embassy Tripoli", ``AMCONSUL LAGOS`` →
    "Consulate Lagos", ``SECSTATE WASHDC`` → "Secretary of State", ``USMISSION USNATO`` →
    "Mission USNATO", ``USMISSION USUN NEW YORK`` → "USUN New York"; "" if nothing usable."""
    s = fm.strip().upper()
    s = re.sub(r"^FM:?\s+", "", s)
    s = re.sub(r"^[A-Z]{4,8}/", "", s)  # routing indicator, e.g. RUEHTRO/
    s = _FM_NOISE.sub("", s).strip(" .,")
    if not s:
        return ""
    if s.startswith("SECSTATE") or s in ("STATE", "DEPT OF STATE", "STATE DEPT"):
        return "Secretary of State"
    m = _FM_PREFIX.match(s)
    kind, rest = (m.group(1) or "", m.group(2).strip()) if m else ("", s)
    words = rest.split()
    if kind == "USDEL" and rest.startswith("SECRETARY"):
        return "US Delegation, Secretary"
    # the post: the longest run of leading words that is a known post
    token = ""
    for k in range(len(words), 0, -1):
        t = post_token("".join(words[:k]))
        if t:
            token = t
            break
    if not token:
        # "IRAN RPO DUBAI", "USUN NEW YORK" with extra words, "RPO DUBAI"
        token = post_token("".join(words)) or post_token(kind + "".join(words))
    if kind in ("USMISSION", "USMISSON") and token == "" and words:
        return "Mission " + " ".join(words)
    if token:
        if token in _SPECIAL:
            return _SPECIAL[token]
        if token in _CONSULATES:
            return "Consulate " + _place(token)
        if kind in ("AMCONSUL", "AMCONGEN", "CONGEN", "CONSUL"):
            return "Consulate " + _place(token)
        if kind in ("AMEMBASSY", "AMEMB", "EMBASSY"):
            return "Embassy " + _place(token)
        if kind == "REO":
            return "REO " + _place(token)
        return origin_from_post(token)
    if not words:
        return ""
    place = " ".join(w.title() for w in words)
    if kind in ("AMCONSUL", "AMCONGEN", "CONGEN", "CONSUL"):
        return "Consulate " + place
    if kind in ("AMEMBASSY", "AMEMB", "EMBASSY"):
        return "Embassy " + place
    if kind == "REO":
        return "REO " + place
    if kind == "USOFFICE":
        return "US Office " + place
    if kind == "USINT":
        return "US Interests Section " + place
    if kind == "AIT":
        return "American Institute Taiwan, " + place
    return ""
