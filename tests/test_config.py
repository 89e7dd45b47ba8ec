"""Settings precedence: option > CABLESEARCH_* env > config.toml > default, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from cablesearch.config import SETTINGS, Config, load_config, render_config_toml
from cablesearch.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_a_file(tmp_path: Path) -> None:
    cfg = _load_in(tmp_path)
    assert cfg == Config()
    assert cfg.source == "defaults"


def _load_in(folder: Path, env: dict[str, str] | None = None, **overrides: object) -> Config:
    import os

    old = os.getcwd()
    os.chdir(folder)
    try:
        return load_config(None, env=env or {}, overrides=overrides)
    finally:
        os.chdir(old)


def test_precedence(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('index_dir = "from-file"\nport = 9000\npage_size = 7\n')
    env = {"CABLESEARCH_PORT": "9100", "CABLESEARCH_PAGE_SIZE": "8"}
    cfg = _load_in(tmp_path, env, page_size=9)
    assert cfg.index_dir == Path("from-file")  # file beats default
    assert cfg.port == 9100  # env beats file
    assert cfg.page_size == 9  # option beats env
    assert cfg.source == "config.toml"


def test_watch_dirs_from_env_split_on_pathsep(tmp_path: Path) -> None:
    cfg = _load_in(tmp_path, {"CABLESEARCH_WATCH_DIRS": "a:b"})
    assert cfg.watch_dirs == (Path("a"), Path("b"))


@pytest.mark.parametrize(
    "text, message",
    [
        ("port = 'x'\n", "config.toml: setting 'port' has the value 'x', which is not a valid int"),
        ("colour = 1\n", "config.toml: unknown setting 'colour'; known settings:"),
        ("port = \n", "config.toml: not a valid TOML file"),
        (
            "lock_timeout = -1\n",
            "config.toml: setting 'lock_timeout' has the value -1, which is out of range (it must be at least 0)",
        ),
        (
            "port = 70000\n",
            "config.toml: setting 'port' has the value 70000, which is out of range (it must be from 0 to 65535)",
        ),
        ("workers = 1000\n", "config.toml: setting 'workers' has the value 1000, which is out of range"),
        ("procs = 1.5\n", "config.toml: setting 'procs' has the value 1.5, which is not a valid int"),
        (
            "page_size = true\n",
            "config.toml: setting 'page_size' has the value True, which is not a valid int",
        ),
        (
            "query_time_limit = nan\n",
            "config.toml: setting 'query_time_limit' has the value nan, which is not a valid float",
        ),
        ("page_size = 500\n", "setting 'page_size' (500) is larger than 'max_page_size' (100)"),
    ],
)
def test_bad_config_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        _load_in(tmp_path)
    assert str(err.value).startswith(message)


def test_every_default_is_written_once_in_the_table() -> None:
    """The Config dataclass takes each default from SETTINGS; no second copy can drift."""
    cfg = Config()
    for s in SETTINGS:
        value = getattr(cfg, s.name)
        if s.name == "index_dir":
            assert value == Path(s.default)
        elif s.name == "watch_dirs":
            assert value == tuple(Path(v) for v in s.default)
        else:
            assert value == s.default


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment variable CABLESEARCH_PORT: setting 'port'"):
        _load_in(tmp_path, {"CABLESEARCH_PORT": "eighty"})


def test_explicit_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml", env={})


def test_shipped_config_toml_is_the_rendered_defaults() -> None:
    """config.toml, --help and the docs come from the one SETTINGS table; they must not drift."""
    assert (ROOT / "config.toml").read_text() == render_config_toml()
    assert load_config(ROOT / "config.toml", env={}) == Config()
    assert {s.name for s in SETTINGS} <= set(Config.__dataclass_fields__)
