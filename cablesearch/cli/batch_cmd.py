"""``cablesearch batch``: many queries from a file, one summary row each (table, CSV or JSON)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import click

from ..investigate.batch import BatchRow, format_table, read_batch_file, rows_to_csv, run_batch
from . import get_config
from .search_cmd import open_service


@click.command("batch")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True, path_type=Path))
@click.option(
    "--top", type=click.IntRange(1, 50), default=3, show_default=True, help="Origins and tags per row."
)
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a header, then one row per query).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with a list of rows.")
@click.pass_context
def batch_command(ctx: click.Context, file: Path, top: int, as_csv: bool, as_json: bool) -> None:
    """Run every query of FILE and print one summary row each: the number of matching
    cables, the first and last date, the top origins and tags.

    FILE holds one query per line (same language as `cablesearch search`), or CSV rows
    name,query (a .csv file, or a first line `name,query`); `-` reads standard input.
    Blank lines and lines starting with # are skipped. A line that cannot be read or a
    query that does not parse gets its error in its own row; the others still run, and
    the exit code is 1 if any row failed.

    Example:

    \b
        printf 'libya oil\\n"human rights" AND tag:PHUM\\n' > queries.txt
        cablesearch batch queries.txt --csv > summary.csv
    """
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    queries = read_batch_file(file)
    with open_service(get_config(ctx)) as service:
        rows = run_batch(service, queries, top=top)
        done: list[BatchRow] = []
        if as_csv:
            for line in rows_to_csv(_collect(rows, done)):
                click.echo(line, nl=False)
        else:
            done = list(rows)
            if as_json:
                click.echo(json.dumps({"rows": [r.to_json() for r in done]}, ensure_ascii=False))
            else:
                click.echo(format_table(done))
    failed = sum(1 for r in done if r.error)
    if failed:
        click.echo(
            f"{failed} of {len(done)} quer{'ies' if len(done) != 1 else 'y'} failed; see the error column",
            err=True,
        )
        ctx.exit(1)


def _collect(rows: Iterable[BatchRow], into: list[BatchRow]) -> Iterator[BatchRow]:
    for row in rows:
        into.append(row)
        yield row


COMMANDS: list[click.Command] = [batch_command]
