"""The ``cablesearch`` command line. Each command parses its options, calls one library
function and renders the result; library errors become one ``Error: ...`` line here, once."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from .. import __version__
from ..config import Config, load_config
from ..errors import CablesearchError, IndexDamaged, damaged, decode_errors

DECODE_ERRORS = decode_errors()


def _index_dir(ctx: click.Context) -> Any:
    try:
        return ctx.find_root().obj.get().index_dir
    except Exception:
        return "in use"


class CablesearchGroup(click.Group):
    """Turns library errors into one line on stderr and an exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CablesearchError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)
        except BrokenPipeError:
            sys.exit(0)
        except DECODE_ERRORS as exc:
            # a damaged index file found while reading (the checks at open only see sizes)
            click.echo(f"Error: {damaged(_index_dir(ctx), exc)}", err=True)
            sys.exit(IndexDamaged.exit_code)


@click.group(cls=CablesearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cablesearch")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Settings file (default: $CABLESEARCH_CONFIG or ./config.toml).",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Index folder (default: setting index_dir, env CABLESEARCH_INDEX_DIR).",
)
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, index_dir: Path | None) -> None:
    """Search the US diplomatic cables of the Cablegate release.

    Settings come from the command line, then CABLESEARCH_* environment variables, then
    config.toml, then the built-in defaults.
    """
    ctx.obj = _LazyConfig(config_path, {"index_dir": index_dir})


class _LazyConfig:
    """Resolved on first use, so that `--help` works even with a broken config file."""

    def __init__(self, path: Path | None, overrides: dict[str, Any]):
        self._path = path
        self._overrides = overrides
        self._config: Config | None = None

    def get(self, **more: Any) -> Config:
        import os

        env = dict(os.environ)
        # CABLESEARCH_INDEX is accepted as a short alias of CABLESEARCH_INDEX_DIR.
        if "CABLESEARCH_INDEX" in env and "CABLESEARCH_INDEX_DIR" not in env:
            env["CABLESEARCH_INDEX_DIR"] = env["CABLESEARCH_INDEX"]
        return load_config(self._path, env=env, overrides={**self._overrides, **more})


def get_config(ctx: click.Context, **overrides: Any) -> Config:
    """The resolved settings for this invocation, with a command's own options on top."""
    return ctx.find_root().obj.get(**overrides)


def _register() -> None:
    from . import (
        alerts_cmd,
        batch_cmd,
        check_cmd,
        conflicts_cmd,
        index_cmd,
        parse_cmd,
        person_cmd,
        search_cmd,
        serve_cmd,
        thread_cmd,
        watch_cmd,
    )

    for module in (
        parse_cmd,
        index_cmd,
        conflicts_cmd,
        check_cmd,
        search_cmd,
        thread_cmd,
        person_cmd,
        batch_cmd,
        watch_cmd,
        serve_cmd,
        alerts_cmd,
    ):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
