"""What the search and browse pages list: the facet sidebar, the timeline of matches, the page
links and the browse page's sections, each value linked to the search that shows it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..results import SearchResult
from ..vocab import describe_tag
from .limits import LIMITS
from .state import DEFAULT_FACET_LIMIT, FACET_ATTR, WEB_FACETS, SearchState, person_url

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass
class FacetValue:
    value: str
    count: int | None  # None: an active filter value the counts did not list
    active: bool
    link: str  # adds the value to the filters, or removes it when active
    description: str = ""  # what a tag code means ("External Political Relations")
    profile: str = ""  # a person's page (person facet only)


@dataclass
class FacetGroup:
    """One facet of the sidebar. Its values are OR'ed (``any_of`` once one is chosen); ``more``
    lists every value (up to the facet limit), ``fewer`` goes back to the top ones."""

    facet: str
    values: list[FacetValue]
    any_of: bool = False
    more: str | None = None
    fewer: str | None = None

    @property
    def filterable(self) -> bool:
        """Long enough for a filter box."""
        return len(self.values) > FILTER_BOX_FROM


FILTER_BOX_FROM = 12  # values in a facet from which its list gets a filter box


def facet_lists(result: SearchResult, state: SearchState) -> list[FacetGroup]:
    """The sidebar: each facet's values (years newest first) with counts and toggle links.
    A chosen value is always listed (also when the counts leave it out), and the other values
    stay listed as the library counts them, so a second value can be added (OR)."""
    limit = state.facet_limit or DEFAULT_FACET_LIMIT
    out: list[FacetGroup] = []
    for facet in WEB_FACETS:
        pairs: list[tuple[str, int | None]] = [(str(v), n) for v, n in result.facets.get(facet, [])]
        listed = len(pairs)
        attr = FACET_ATTR[facet]
        current = getattr(state, attr)
        shown = {v for v, _ in pairs}
        pairs += [(str(v), None) for v in current if str(v) not in shown]
        if facet == "year":
            pairs.sort(key=lambda p: p[0], reverse=True)
        items = []
        for value, count in pairs:
            typed: Any = int(value) if facet == "year" else value
            active = typed in current
            changed = tuple(v for v in current if v != typed) if active else current + (typed,)
            described = (describe_tag(value) or "") if facet == "tag" else ""
            profile = person_url(value) if facet == "person" else ""
            items.append(FacetValue(value, count, active, state.url(**{attr: changed}), described, profile))
        if not items:
            continue
        group = FacetGroup(facet, items, any_of=bool(current))
        if listed >= limit and limit < LIMITS.max_facet_limit:
            group.more = state.url(facet_limit=LIMITS.max_facet_limit, page=state.page) + f"#facet-{facet}"
        elif state.facet_limit and state.facet_limit > DEFAULT_FACET_LIMIT:
            group.fewer = state.url(facet_limit=None, page=state.page) + f"#facet-{facet}"
        out.append(group)
    return out


@dataclass
class TimelineBar:
    label: str  # "2008-06" or "2008"
    title: str  # "Jun 2008: 12 cables"
    count: int
    height: float  # percent of the tallest bar
    url: str
    active: bool = False
    tick: str = ""  # short axis label under the bar ("J" for January, "2008")


@dataclass
class Timeline:
    unit: str  # "month" or "year"
    bars: list[TimelineBar] = field(default_factory=list)
    first: str = ""
    last: str = ""
    reset_url: str | None = None
    ticks: bool = False  # whether the bars are few enough to label each one


def build_timeline(months: list[tuple[str, int]], state: SearchState, max_bars: int = 120) -> Timeline | None:
    """Bars over the span of the matches: one per month (empty months included) when the span
    fits in ``max_bars`` months, else one per year. A click narrows the created-date range to
    that month or year."""
    counts = {m: n for m, n in months if n > 0 and re.match(r"^\d{4}-\d{2}$", m)}
    if not counts:
        return None
    keys = sorted(counts)
    y0, m0 = map(int, keys[0].split("-"))
    y1, m1 = map(int, keys[-1].split("-"))
    span = (y1 - y0) * 12 + (m1 - m0) + 1
    reset = state.url(date_from=None, date_to=None) if (state.date_from or state.date_to) else None
    if span <= max_bars:
        if span < 12:
            # A short span is shown within its whole year(s), so a month or two is not one
            # bar as wide as the page.
            m0, m1 = 1, 12
            span = (y1 - y0) * 12 + 12
        series: list[tuple[str, str, int]] = []
        y, m = y0, m0
        for _ in range(span):
            key = f"{y:04d}-{m:02d}"
            series.append((key, f"{MONTHS[m - 1]} {y}", counts.get(key, 0)))
            m += 1
            if m > 12:
                y, m = y + 1, 1
        unit = "month"
    else:
        by_year: dict[int, int] = {}
        for key, n in counts.items():
            by_year[int(key[:4])] = by_year.get(int(key[:4]), 0) + n
        series = [(str(y), str(y), by_year.get(y, 0)) for y in range(y0, y1 + 1)]
        if len(series) > max_bars:
            series = [(str(y), str(y), n) for y, n in sorted(by_year.items())]
        unit = "year"
    top = max(n for _, _, n in series) or 1
    bars = []
    for key, label, n in series:
        noun = "cable" if n == 1 else "cables"
        bars.append(
            TimelineBar(
                label=key,
                title=f"{label}: {n} {noun}",
                count=n,
                height=round(100.0 * n / top, 1) if n else 0.0,
                url=state.url(date_from=key, date_to=key),
                active=bool(state.date_from == key and state.date_to == key),
                tick=(label[:3] if unit == "month" else label),
            )
        )
    return Timeline(
        unit=unit, bars=bars, first=series[0][1], last=series[-1][1], reset_url=reset, ticks=len(bars) <= 24
    )


def page_links(state: SearchState, total: int, page_size: int, window: int = 2) -> dict[str, Any]:
    """Previous/next links and a compact list of page numbers (None marks a gap)."""
    last = max(1, -(-total // page_size))
    last = min(last, max(1, LIMITS.max_result_window // page_size))
    page = min(state.page, last)
    numbers: list[int | None] = []
    for n in range(1, last + 1):
        if n in (1, last) or abs(n - page) <= window:
            numbers.append(n)
        elif numbers and numbers[-1] is not None:
            numbers.append(None)
    return {
        "page": state.page,
        "last": last,
        "prev": state.url(page=state.page - 1) if state.page > 1 else None,
        "next": state.url(page=state.page + 1) if state.page < last else None,
        "numbers": [(n, state.url(page=n) if n else None) for n in numbers],
    }


@dataclass
class BrowseGroup:
    key: str
    title: str
    items: list[tuple[str, int, str]]  # (label, count, link)
    years: list[tuple[str, int, list[tuple[str, int, str]]]] | None = None


def browse_groups(lists: dict[str, list[tuple[str, int]]]) -> list[BrowseGroup]:
    """The browse page's sections, each value linked to the search that lists its cables."""

    def first(*names: str) -> list[tuple[str, int]]:
        for name in names:
            if name in lists:
                return lists[name]
        return []

    groups: list[BrowseGroup] = []
    months = first("created", "created_month", "month")
    years: dict[str, list[tuple[str, int, str]]] = {}
    for ym, n in sorted(months):
        y = ym[:4]
        label = (
            MONTHS[int(ym[5:7]) - 1] if len(ym) >= 7 and ym[5:7].isdigit() and 1 <= int(ym[5:7]) <= 12 else ym
        )
        years.setdefault(y, []).append((label, n, SearchState(sort="created").url(date_from=ym, date_to=ym)))
    groups.append(
        BrowseGroup(
            "created",
            "By date created",
            [],
            years=[(y, sum(n for _, n, _ in ms), ms) for y, ms in sorted(years.items(), reverse=True)],
        )
    )
    released = first("released", "released_date")
    groups.append(
        BrowseGroup(
            "released",
            "By release date",
            [
                (d, n, SearchState(q=f"released:[{d} to {d}]", sort="-created").url())
                for d, n in sorted(released, reverse=True)
            ],
        )
    )
    groups.append(
        BrowseGroup(
            "origin",
            "By origin",
            [
                (o, n, SearchState(origins=(o,), sort="-created").url())
                for o, n in sorted(first("origin"), key=lambda p: p[0].lower())
            ],
        )
    )
    groups.append(
        BrowseGroup(
            "tag",
            "By tag",
            [(t, n, SearchState(tags=(t,), sort="-created").url()) for t, n in sorted(first("tag", "tags"))],
        )
    )
    groups.append(
        BrowseGroup(
            "classification",
            "By classification",
            [
                (c, n, SearchState(classifications=(c,), sort="-created").url())
                for c, n in sorted(first("classification"), key=lambda p: -p[1])
            ],
        )
    )
    return groups
