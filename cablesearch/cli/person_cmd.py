"""``cablesearch person NAME [--json]``: one person's cables by date, posts and roles."""

from __future__ import annotations

import json

import click

from ..search.person import PersonProfile, person_profile
from . import get_config
from .search_cmd import open_service


def format_profile(p: PersonProfile) -> str:
    """The readable form: name, spellings, posts, roles, then one line per cable."""
    lines = [f"{p.name}: {len(p.cables):,} cable{'s' if len(p.cables) != 1 else ''}"]
    if p.spellings != [p.name]:
        lines.append(f"  written as: {'; '.join(p.spellings)}")
    if p.posts:
        lines.append("  posts: " + ", ".join(f"{o} ({n:,})" for o, n in p.posts))
    if p.roles:
        lines.append("  roles: " + ", ".join(f"{r} ({n:,})" for r, n in p.roles))
    lines.append("")
    for c in p.cables:
        date = c.created.strftime("%Y-%m-%d") if c.created else "undated   "
        lines.append(f"{date}  {c.reference_id:<20} {c.origin}  [{', '.join(c.roles)}]  {c.subject}")
    return "\n".join(lines)


@click.command("person")
@click.argument("name", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def person_command(ctx: click.Context, name: tuple[str, ...], as_json: bool) -> None:
    """A person's cables by date, with their posts and roles (signer, classified by, tag).

    NAME is a surname (BURNS) or a whole name in any spelling ("William J. Burns",
    "BURNS, WILLIAM J."). Spellings of one person are merged (see `cablesearch search
    --person`).

    Example:

        cablesearch person Brownfield
    """
    with open_service(get_config(ctx)) as service:
        profile = person_profile(service, " ".join(name))
    if as_json:
        click.echo(json.dumps(profile.to_json(), ensure_ascii=False))
    else:
        click.echo(format_profile(profile))


COMMANDS: list[click.Command] = [person_command]
