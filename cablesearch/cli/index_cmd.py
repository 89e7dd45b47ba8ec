"""Placeholder: commands of this module are being built (see the issue)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
