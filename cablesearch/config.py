"""Settings: one table drives the defaults, config.toml, ``--help`` and the docs.

Precedence, as click documents it: command-line option > ``CABLESEARCH_<NAME>`` environment
variable > config.toml > the default in SETTINGS. Configuration is resolved once, at the edge
(CLI or web start-up), and passed in as a ``Config``; no other module reads the environment.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass(frozen=True)
class Setting:
    """One setting: its default (the only place it is written), help, and allowed range."""

    name: str
    default: Any
    help: str
    low: float | None = None  # smallest allowed value (numbers)
    high: float | None = None  # largest allowed value (numbers)

    def range_text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"at least {self.low:g}"
        return ""


SETTINGS: tuple[Setting, ...] = (
    Setting("index_dir", "index", "Folder holding the Whoosh index and its bookkeeping."),
    Setting("watch_dirs", ["samples"], "Folders the indexing daemon watches (recursively)."),
    Setting("host", "127.0.0.1", "Address the web server binds to."),
    Setting("port", 8080, "Port the web server listens on (0: any free port, printed at start).", 0, 65535),
    Setting(
        "workers",
        2,
        "Web server processes answering requests. Searching is CPU-bound, so "
        "about one per core; the daemon of serve --watch runs once, in the main process.",
        1,
        64,
    ),
    Setting("lock_timeout", 30.0, "Seconds a writer waits for the index lock before giving up.", 0),
    Setting(
        "settle_seconds",
        0.25,
        "A changed file is indexed once its size and mtime have been stable this long.",
        0,
        3600,
    ),
    Setting(
        "batch_seconds",
        0.5,
        "The daemon's batch waits at most this long for files still "
        "settling before it commits (files ready while it is written join it).",
        0,
        3600,
    ),
    Setting(
        "rescan_seconds",
        600.0,
        "The daemon re-scans its folders this often (0: never) to catch events the OS dropped.",
        0,
    ),
    Setting("query_time_limit", 2.0, "Seconds a search may run before it is stopped.", 0.01, 3600),
    Setting("page_size", 10, "Hits per page when none is asked for.", 1, 1000),
    Setting("max_page_size", 100, "Largest page size a search may ask for.", 1, 1000),
    Setting("procs", 2, "Processes used for parsing and analysis when indexing in bulk.", 1, 64),
    Setting(
        "alert_commands",
        {},
        "A shell command per saved search, run after each index commit with the new "
        'matches as JSON on stdin, e.g. alert_commands = { libya = "mail -s libya me@example.org" } '
        "(environment: a JSON object).",
    ),
    Setting(
        "alert_command_timeout", 30.0, "Seconds an alert command may run before it is stopped.", 0.1, 3600
    ),
)

_BY_NAME = {s.name: s for s in SETTINGS}
ENV_PREFIX = "CABLESEARCH_"
CONFIG_ENV = "CABLESEARCH_CONFIG"


def _default(name: str) -> Any:
    value = _BY_NAME[name].default
    if name == "index_dir":
        return Path(value)
    if name == "watch_dirs":
        return tuple(Path(v) for v in value)
    if isinstance(value, dict):
        return dict(value)
    return value


@dataclass(frozen=True)
class Config:
    """Resolved settings (see ``load_config``); every default comes from ``SETTINGS``."""

    index_dir: Path = _default("index_dir")  # noqa: RUF009 - a Path is immutable
    watch_dirs: tuple[Path, ...] = _default("watch_dirs")
    host: str = _default("host")
    port: int = _default("port")
    workers: int = _default("workers")
    lock_timeout: float = _default("lock_timeout")
    settle_seconds: float = _default("settle_seconds")
    batch_seconds: float = _default("batch_seconds")
    rescan_seconds: float = _default("rescan_seconds")
    query_time_limit: float = _default("query_time_limit")
    page_size: int = _default("page_size")
    max_page_size: int = _default("max_page_size")
    procs: int = _default("procs")
    # alert name -> shell command (not changed after load; a dict so that Config pickles)
    alert_commands: dict[str, str] = field(default_factory=lambda: _default("alert_commands"), hash=False)
    alert_command_timeout: float = _default("alert_command_timeout")
    source: str = field(default="defaults", compare=False)  # where the file settings came from

    def __post_init__(self) -> None:
        if self.page_size > self.max_page_size:
            raise ConfigError(
                f"setting 'page_size' ({self.page_size}) is larger than 'max_page_size' "
                f"({self.max_page_size}); lower it or raise max_page_size"
            )


def _coerce(name: str, value: Any, origin: str) -> Any:
    setting = _BY_NAME[name]
    default = setting.default
    try:
        if name == "watch_dirs":
            if isinstance(value, str):
                value = [v for v in value.split(os.pathsep) if v]
            if not isinstance(value, (list, tuple)):
                raise TypeError
            return tuple(Path(str(v)).expanduser() for v in value)
        if name == "index_dir":
            return Path(str(value)).expanduser()
        if isinstance(default, dict):
            return _mapping(value)
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise TypeError
            result: float = int(str(value).strip()) if isinstance(value, str) else int(value)
        elif isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            result = float(value)
            if result != result:  # NaN
                raise ValueError
        else:
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{origin}: setting {name!r} has the value {value!r}, which is not a valid "
            f"{type(default).__name__}; fix it or remove it to use the default {default!r}"
        ) from None
    low, high = setting.low, setting.high
    if (low is not None and result < low) or (high is not None and result > high):
        raise ConfigError(
            f"{origin}: setting {name!r} has the value {value!r}, which is out of range "
            f"(it must be {setting.range_text()}); fix it or remove it to use the default {default!r}"
        )
    return result


def _mapping(value: Any) -> dict[str, str]:
    """A table of strings (or, from the environment, a JSON object)."""
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, (list, tuple)):
        value = dict(value)
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise TypeError
    return {str(k): v for k, v in sorted(value.items())}


def default_config_path() -> Path:
    """config.toml in the current folder, the file the project ships with its defaults."""
    return Path("config.toml")


def load_config(
    path: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Resolve settings: overrides (CLI) > env ``CABLESEARCH_*`` > config file > defaults.

    ``path`` None means ``$CABLESEARCH_CONFIG`` or ./config.toml when it exists. An explicit path
    that does not exist is an error; a missing ./config.toml is not.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    source = "defaults"
    explicit = path is not None or CONFIG_ENV in env
    cfg_path = Path(path) if path is not None else Path(env.get(CONFIG_ENV, "config.toml"))
    if cfg_path.exists():
        try:
            data = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise ConfigError(f"{cfg_path}: not a valid TOML file ({exc}); fix or remove it") from None
        section = data.get("cablesearch", data)
        for key, value in section.items():
            if key not in _BY_NAME:
                known = ", ".join(sorted(_BY_NAME))
                raise ConfigError(f"{cfg_path}: unknown setting {key!r}; known settings: {known}")
            values[key] = _coerce(key, value, str(cfg_path))
        source = str(cfg_path)
    elif explicit:
        raise ConfigError(f"{cfg_path}: config file not found; check the path or unset {CONFIG_ENV}")
    for s in SETTINGS:
        env_name = ENV_PREFIX + s.name.upper()
        if env_name in env:
            values[s.name] = _coerce(s.name, env[env_name], f"environment variable {env_name}")
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = _coerce(key, value, f"option --{key.replace('_', '-')}")
    names = {f.name for f in fields(Config)}
    return Config(source=source, **{k: v for k, v in values.items() if k in names})


def render_config_toml() -> str:
    """The text of a config.toml holding every setting at its default, with its help."""
    lines = [
        "# cablesearch settings. Precedence: command line > CABLESEARCH_<NAME> > this file > default.",
        "",
    ]
    for s in SETTINGS:
        lines.append(f"# {s.help}")
        value = s.default
        if isinstance(value, str):
            rendered = f'"{value}"'
        elif isinstance(value, list):
            rendered = "[" + ", ".join(f'"{v}"' for v in value) + "]"
        elif isinstance(value, dict):
            rendered = "{ " + ", ".join(f'{k} = "{v}"' for k, v in value.items()) + " }" if value else "{}"
        else:
            rendered = repr(value)
        lines.append(f"{s.name} = {rendered}")
        lines.append("")
    return "\n".join(lines)
