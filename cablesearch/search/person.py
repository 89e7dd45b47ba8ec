"""A person's page: every cable naming them, by date, with their posts and roles.

``person_profile(service, name) -> PersonProfile``. ``name`` is any spelling
(:func:`cablesearch.people.normalise_name`) of one person of the people facet, or a bare
surname that only one person of the index has; otherwise :class:`PersonNotFound` (no such
person) or :class:`PersonAmbiguous` (several: their names are in the message).
Roles come from re-reading each cable's people (:func:`cablesearch.people.cable_people`) and
keeping those that were merged into this person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from cablesearch.errors import CablesearchError
from cablesearch.people import ROLES, cable_people, normalise_name
from cablesearch.search.hits import stored_cable

if TYPE_CHECKING:
    from cablesearch.search.service import SearchService


class PersonNotFound(CablesearchError):
    """No person of that name in the index."""


class PersonAmbiguous(CablesearchError):
    """A surname several people of the index share."""


@dataclass
class PersonCable:
    reference_id: str
    created: datetime | None
    origin: str
    subject: str
    roles: list[str]

    def to_json(self) -> dict[str, Any]:
        return {
            "reference_id": self.reference_id,
            "created": self.created.strftime("%Y-%m-%dT%H:%M") if self.created else None,
            "origin": self.origin,
            "subject": self.subject,
            "roles": self.roles,
        }


@dataclass
class PersonProfile:
    """One person: their name, the spellings merged into it, their cables (oldest first, undated
    last), posts (origin, cables) and roles (role, cables), most frequent first."""

    name: str
    spellings: list[str]
    cables: list[PersonCable] = field(default_factory=list)
    posts: list[tuple[str, int]] = field(default_factory=list)
    roles: list[tuple[str, int]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "spellings": self.spellings,
            "total": len(self.cables),
            "posts": [[p, n] for p, n in self.posts],
            "roles": [[r, n] for r, n in self.roles],
            "cables": [c.to_json() for c in self.cables],
        }


def resolve(values: list[str], counts: np.ndarray, name: str) -> str:
    """The one person of the facet ``name`` means (see the module doc)."""
    wanted = normalise_name(name)
    if wanted is None:
        raise PersonNotFound(f'{name!r} is no person\'s name; write e.g. BURNS or "Burns, William J."')
    by_fold = {v.casefold(): v for v, n in zip(values, counts.tolist(), strict=True) if n}
    sur = wanted.partition(",")[0].casefold()
    if "," in wanted and wanted.casefold() in by_fold:
        return by_fold[wanted.casefold()]
    same = sorted(
        (v for v in by_fold.values() if v.partition(",")[0].casefold() == sur),
        key=lambda v: -int(counts[values.index(v)]),
    )
    if "," not in wanted and len(same) == 1:
        return same[0]
    if len(same) > 1 and "," not in wanted:
        listed = "; ".join(f"{v} ({int(counts[values.index(v)]):,})" for v in same[:10])
        raise PersonAmbiguous(f"several people are named {wanted}: {listed}; give the whole name")
    hint = f"; people named {sur.upper()}: " + "; ".join(same[:10]) if same else ""
    raise PersonNotFound(f"no person {wanted!r} in the index{hint}")


def person_profile(service: SearchService, name: str) -> PersonProfile:
    """The profile of the person ``name`` means (PersonNotFound / PersonAmbiguous)."""
    with service.snapshot() as snap:
        facet = snap.arrays.person
        live = snap.arrays.live
        value = resolve(facet.values, facet.counts(live), name)
        docs = np.flatnonzero(facet.mask([value]) & live).tolist()
        rows: list[PersonCable] = []
        for doc in docs:
            cable = stored_cable(snap, doc)
            if cable is None:
                continue
            found = [m.role for m in cable_people(cable) if facet.merged(m.name, doc) == value]
            roles = [r for r in ROLES if r in found]
            rows.append(PersonCable(cable.reference_id, cable.created, cable.origin, cable.subject, roles))
        spellings = facet.spellings(value)
    rows.sort(key=lambda c: (c.created is None, c.created or datetime.min, c.reference_id))
    posts = Counter(c.origin for c in rows if c.origin)
    role_counts = Counter(r for c in rows for r in c.roles)
    return PersonProfile(
        name=value,
        spellings=spellings,
        cables=rows,
        posts=sorted(posts.items(), key=lambda kv: (-kv[1], kv[0])),
        roles=sorted(role_counts.items(), key=lambda kv: (-kv[1], ROLES.index(kv[0]))),
    )
