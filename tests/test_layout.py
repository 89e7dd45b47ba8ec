"""The layout the architecture promises (docs/ARCHITECTURE.md), checked on the source itself:
Whoosh's internals are used in cablesearch/engine/ only, and no class or function outgrows the
size a reader can hold in mind, except the ones ARCHITECTURE.md names with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "cablesearch"
# Outside the engine, only Whoosh's public query language may be used: building a query is the
# search package's job (query.py), and parsing it needs the parser and the schema's field types.
PUBLIC_WHOOSH = {"whoosh.query", "whoosh.qparser", "whoosh.fields"}
# Where a unit is bigger than the limits on purpose; each is explained in docs/ARCHITECTURE.md.
MAX_CLASS_LINES = 300
MAX_FUNCTION_LINES = 80
ALLOWED_LONG: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def _whoosh_imports(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "whoosh"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "whoosh":
            if node.module == "whoosh":
                found += [(node.lineno, f"whoosh.{a.name}") for a in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_whoosh_internals_only_in_the_engine(path: Path) -> None:
    rel = path.relative_to(PACKAGE)
    if rel.parts[0] == "engine":
        return
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = [(line, mod) for line, mod in _whoosh_imports(tree) if mod not in PUBLIC_WHOOSH]
    assert not wrong, (
        f"{rel} imports Whoosh beyond its public query API: {wrong}; move it into cablesearch/engine/"
    )


def _units(tree: ast.AST, prefix: str = "") -> list[tuple[str, str, int]]:
    units = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.ClassDef):
            name = f"{prefix}{node.name}"
            units.append(("class", name, node.end_lineno - node.lineno + 1))  # type: ignore[operator]
            units += _units(node, name + ".")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = f"{prefix}{node.name}"
            units.append(("function", name, node.end_lineno - node.lineno + 1))  # type: ignore[operator]
            units += _units(node, name + ".")
    return units


def test_no_class_or_function_outgrows_its_limit() -> None:
    too_long = []
    for path in _modules():
        rel = str(path.relative_to(PACKAGE))
        for kind, name, lines in _units(ast.parse(path.read_text(encoding="utf-8"))):
            limit = MAX_CLASS_LINES if kind == "class" else MAX_FUNCTION_LINES
            if lines > limit and f"{rel}:{name}" not in ALLOWED_LONG:
                too_long.append(f"{rel}:{name} ({kind}, {lines} lines > {limit})")
    assert not too_long, (
        "split these (or explain them in docs/ARCHITECTURE.md and ALLOWED_LONG):\n" + "\n".join(too_long)
    )


def test_allowed_long_units_are_explained_in_the_architecture() -> None:
    text = (PACKAGE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    for unit in ALLOWED_LONG:
        assert unit.split(":")[1] in text, (
            f"{unit} is allowed to be long but ARCHITECTURE.md does not say why"
        )
