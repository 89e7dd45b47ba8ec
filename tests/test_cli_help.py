"""Every command documents itself with an example, and the README names every command."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from cablesearch.cli import main

README = Path(__file__).resolve().parent.parent / "README.md"


@pytest.mark.parametrize("name", sorted(main.commands))
def test_command_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"`cablesearch {name} --help` shows no example"
    assert main.commands[name].help and len(main.commands[name].help.split()) > 5


@pytest.mark.parametrize("name", sorted(main.commands))
def test_readme_mentions_every_command(name: str) -> None:
    assert f"cablesearch {name}" in README.read_text(encoding="utf-8")


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["serch", "x"])
    assert result.exit_code == 2
    assert "No such command 'serch'" in result.output
