"""The search filters as click options, shared by every command that takes a search (``search``,
``alerts add``): one list, so a filter added to the library reaches both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

_FILTERS = [
    click.option(
        "--tag", "tags", multiple=True, metavar="TAG", help="Only cables with this tag (repeat: any of them)."
    ),
    click.option(
        "--origin",
        "origins",
        multiple=True,
        metavar="ORIGIN",
        help='Only cables from this post, e.g. "Embassy Tripoli" (repeat: any).',
    ),
    click.option(
        "--classification",
        "classifications",
        multiple=True,
        metavar="CLASS",
        help="Only cables with this classification (repeat: any).",
    ),
    click.option(
        "--person",
        "persons",
        multiple=True,
        metavar="NAME",
        help='Only cables naming this person: a surname or a whole name, e.g. "Burns, William J." (repeat: any).',
    ),
    click.option(
        "--year",
        "years",
        multiple=True,
        type=int,
        metavar="YYYY",
        help="Only cables created in this year (repeat: any).",
    ),
    click.option(
        "--warning",
        "warnings",
        multiple=True,
        metavar="KIND",
        help="Only cables with a parse warning of this kind, e.g. subject (repeat: any).",
    ),
    click.option(
        "--from", "date_from", metavar="DATE", help="Created on or after DATE (YYYY, YYYY-MM or YYYY-MM-DD)."
    ),
    click.option(
        "--to",
        "date_to",
        metavar="DATE",
        help="Created on or before DATE (YYYY, YYYY-MM or YYYY-MM-DD; inclusive).",
    ),
]


def filter_options(f: F) -> F:
    """Add the filter options (``tags``, ``origins``, ``classifications``, ``persons``,
    ``years``, ``warnings``, ``date_from``, ``date_to``) to a command, in this order."""
    for option in reversed(_FILTERS):
        f = option(f)
    return f
