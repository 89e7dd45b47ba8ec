"""People on the web: ``/person/{name}`` (the page) and ``/api/people/{name}`` (the
``cablesearch person --json`` object), and the person links of the cable page.

``name`` is any spelling of a person of the people facet, or a bare surname only one person
has. A surname several people share is answered with the candidates — links on the page,
``details`` of the error on the API (409) — and an unknown name with the people of that
surname if there are any (404)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from ..model import Cable
from ..people import cable_people, normalise_name
from ..results import SearchRequest
from ..search.person import PersonAmbiguous, PersonNotFound
from .context import WebContext, web
from .limits import LIMITS
from .render import error_body
from .services import Service
from .state import BadParameter, SearchState, person_url

router = APIRouter()


@dataclass
class PersonLink:
    """A name as the cable writes it, and the person page it links to ("" if it names no one)."""

    text: str
    link: str


def cable_person_links(cable: Cable) -> tuple[list[PersonLink], PersonLink | None]:
    """The cable page's signers and "classified by", each linked to its person's page. A bare
    surname that a fuller name of the same cable has (signer GODEC, classified by Robert F.
    Godec) links to the fuller name."""
    mentions = cable_people(cable)
    full = {m.name.partition(",")[0]: m.name for m in mentions if "," in m.name}

    def link(name: str | None) -> str:
        if not name:
            return ""
        return person_url(full.get(name, name) if "," not in name else name)

    signers = []
    for s in cable.signers:
        name = normalise_name(s) if not any(c.isdigit() for c in s) else None
        signers.append(PersonLink(s, link(name)))
    classified = None
    if cable.classified_by:
        named = [m.name for m in mentions if m.role == "classified by"]
        classified = PersonLink(cable.classified_by, link(named[0] if named else None))
    return signers, classified


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > LIMITS.max_filter_length or any(ord(c) < 32 for c in name):
        raise BadParameter(
            f"{name[:40]!r} is not a person's name; give a surname or a whole name such as "
            f"'GODEC, ROBERT F.' (at most {LIMITS.max_filter_length} characters)"
        )
    return name


def candidates(svc: Service, name: str) -> list[tuple[str, int]]:
    """The people of the person facet with the surname of ``name``, most cables first."""
    wanted = normalise_name(name)
    if not wanted:
        return []
    surname = wanted.partition(",")[0]
    # every person, counted over all cables (a person filter would not narrow its own facet)
    result = svc.search(SearchRequest(page_size=1, facet_limit=0, highlight=False))
    return [
        (value, n)
        for value, n in result.facets.get("person", [])
        if value.partition(",")[0].casefold() == surname.casefold()
    ]


@router.get("/person/{name:path}", response_class=HTMLResponse, include_in_schema=False)
async def person_page(request: Request, name: str, ctx: WebContext = Depends(web)) -> Response:
    name = _check_name(name)

    def job(svc: Service) -> Response:
        try:
            profile = svc.person(name)
        except (PersonAmbiguous, PersonNotFound) as exc:
            status = 200 if isinstance(exc, PersonAmbiguous) else 404
            found = [(v, n, person_url(v)) for v, n in candidates(svc, name)]
            return ctx.render.page(
                request,
                "person.html",
                status=status,
                name=name,
                profile=None,
                message=str(exc),
                candidates=found,
                state=SearchState(),
            )
        return ctx.render.page(
            request,
            "person.html",
            name=name,
            profile=profile,
            message="",
            candidates=[],
            state=SearchState(),
            search=SearchState(persons=(profile.name,), sort="created"),
        )

    return await ctx.run(job)


@router.get(
    "/api/people/{name:path}",
    tags=["people"],
    summary="One person",
    responses={
        404: {"description": "No such person"},
        409: {"description": "A surname several people share: `details` lists them"},
    },
)
async def api_person(name: str, ctx: WebContext = Depends(web)) -> Response:
    """A person named in the cables (`cablesearch person --json`): `name`, the `spellings`
    merged into it, `posts` and `roles` with their counts, and `cables` oldest first with the
    person's roles in each. `name` is any spelling of a whole name (`GODEC, ROBERT F.`,
    `Robert F. Godec`) or a surname only one person has; a shared surname answers 409 with the
    candidates in `error.details` (`name`, `cables`, `url`)."""
    name = _check_name(name)

    def job(svc: Service) -> Response:
        try:
            return JSONResponse(svc.person(name).to_json())
        except (PersonAmbiguous, PersonNotFound) as exc:
            status = 409 if isinstance(exc, PersonAmbiguous) else 404
            details = [
                {"name": v, "cables": n, "url": "/api/people/" + person_url(v).removeprefix("/person/")}
                for v, n in candidates(svc, name)
            ]
            return JSONResponse(error_body(status, str(exc), details), status_code=status)

    return await ctx.run(job)
