"""Saved searches and alerts: baseline, evaluation of what commits changed, durability across
kill -9, the Atom feed, alert commands and the CLI's one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import feedparser
import pytest
from click.testing import CliRunner

from cablesearch.alerts import AlertExists, AlertNotFound, AlertStore, add_alert, after_commit, atom_feed
from cablesearch.cli import main
from cablesearch.config import Config, load_config
from cablesearch.errors import ConfigError, QuerySyntaxError
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer
from cablesearch.results import SearchRequest
from cablesearch.search.service import SearchService

ROOT = Path(__file__).resolve().parent.parent
ATOM = "{http://www.w3.org/2005/Atom}"


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, catch_exceptions=False, env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def batches(tmp_path: Path, data_dir: Path) -> tuple[Path, Path]:
    """The 41 test cables in two folders: a (first 30) and b (the other 11)."""
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for i, f in enumerate(sorted((data_dir / "telegram").iterdir())):
        (a if i < 30 else b).joinpath(f.name).write_bytes(f.read_bytes())
    return a, b


def sync(index_dir: Path, *paths: Path) -> CableIndex:
    index = CableIndex.open(index_dir)
    Syncer(index, Config(index_dir=index_dir), procs=1).sync_paths(paths)
    return index


def add(index_dir: Path, name: str, **request: object) -> None:
    index = CableIndex.open(index_dir, create=False)
    with SearchService(index) as service, AlertStore(index_dir) as store:
        add_alert(service, store, name, SearchRequest(**request))  # type: ignore[arg-type]


def found(index_dir: Path, name: str) -> set[str]:
    with AlertStore(index_dir) as store:
        return {m.reference_id for m in store.matches(name)}


def expected(index_dir: Path, query: str, within: Path) -> set[str]:
    """The IDs of cables from files under ``within`` that a plain search finds."""
    names = {p.stem for p in within.iterdir()}
    with SearchService(CableIndex.open(index_dir, create=False)) as service:
        return {
            c.reference_id
            for c, _ in service.iter_matches(SearchRequest(query=query))
            if c.reference_id in names
        }


def test_only_cables_committed_after_add_are_reported(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, b = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    add(ix, "prel", tags=("PREL",))
    assert found(ix, "emb") == set()
    sync(ix, b)
    run_ = after_commit(index, Config(index_dir=ix))
    assert run_.errors == []
    want = expected(ix, "embassy", b)
    assert want and found(ix, "emb") == want
    assert set(run_.new) == {"emb", "prel"}
    assert run_.evaluated == 2 * 11  # two alerts (one state), the 11 new cables each
    # a second evaluation finds nothing more and records nothing twice
    again = after_commit(index, Config(index_dir=ix))
    assert again.new == {} and again.evaluated == 0
    with AlertStore(ix) as store:
        assert len(store.matches("emb")) == len(want)
        unseen = store.take_unseen("emb")
        assert {m.reference_id for m in unseen} == want
        assert store.take_unseen("emb") == []
        assert store.get("emb").unseen == 0 and store.get("emb").matches == len(want)


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def test_updated_cable_is_new_only_when_it_newly_matches(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, _ = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    add(ix, "zanzibar", query="zanzibar")
    matching = sorted(expected(ix, "embassy", a))[0]
    other = next(p for p in sorted(a.iterdir()) if p.stem not in expected(ix, "embassy", a))
    # an updated cable that matched already: no new match; one that now matches: new
    _rewrite(a / f"{matching}.txt", "\n\n", "\n\nA new paragraph.\n\n")
    _rewrite(other, "\n\n", "\n\nThe ship left for Zanzibar.\n\n")
    syncer = Syncer(index, Config(index_dir=ix), procs=1)
    report = syncer.sync_paths([a])
    assert report.updated == 2
    after_commit(index, Config(index_dir=ix))
    assert found(ix, "emb") == set()
    assert found(ix, "zanzibar") == {other.stem}


def test_bad_input_writes_nothing(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, _ = batches
    ix = tmp_path / "ix"
    sync(ix, a)
    add(ix, "emb", query="embassy")
    with pytest.raises(AlertExists, match="exists already"):
        add(ix, "emb", query="other")
    with pytest.raises(QuerySyntaxError):
        add(ix, "bad", query="NOT OR embassy")
    with pytest.raises(QuerySyntaxError, match="--from"):
        add(ix, "bad", query="x", date_from="2009-13")
    with pytest.raises(QuerySyntaxError, match="nofield"):
        add(ix, "bad", query="nofield:x")
    with AlertStore(ix) as store:
        assert [s.name for s in store.all()] == ["emb"]
        assert store.get("emb").request.query == "embassy"
        with pytest.raises(AlertNotFound, match="known alerts: emb"):
            store.get("nope")


def test_cli_add_list_show_rm_and_errors(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, b = batches
    ix = str(tmp_path / "ix")
    assert run(["--index", ix, "index", str(a)])[0] == 0
    code, out, _ = run(["--index", ix, "alerts", "add", "emb", "embassy", "--from", "2000"])
    assert code == 0 and "emb" in out and "--from 2000" in out
    code, out, err = run(["--index", ix, "index", str(b)])
    assert code == 0 and "alert emb:" in err and "new match" in err
    code, out, _ = run(["--index", ix, "alerts", "list", "--json"])
    (listed,) = json.loads(out)
    assert listed["name"] == "emb" and listed["unseen"] == listed["matches"] > 0
    assert listed["date_from"] == "2000"
    code, out, _ = run(["--index", ix, "alerts", "show", "emb", "--json"])
    shown = json.loads(out)
    assert len(shown) == listed["unseen"] and all(not m["seen"] for m in shown)
    code, out, _ = run(["--index", ix, "alerts", "show", "emb"])
    assert code == 0 and out.startswith("0 new matches")
    code, out, _ = run(["--index", ix, "alerts", "show", "emb", "--all"])
    assert f"{len(shown)} match" in out and shown[0]["reference_id"] in out
    for args, message in [
        (["alerts", "show", "nope"], "no alert named 'nope'; known alerts: emb"),
        (["alerts", "rm", "nope"], "no alert named 'nope'"),
        (["alerts", "add", "emb", "x"], "exists already"),
        (["alerts", "add", "two words", "x"], "is not usable"),
        (["alerts", "add", "q", "(embassy"], "Error:"),
        (["alerts", "add", "d", "x", "--to", "2009-02-30"], "--to"),
    ]:
        code, out, err = run(["--index", ix, *args])
        assert code != 0 and message in err and len(err.strip().splitlines()) == 1, (args, err)
    assert run(["--index", ix, "alerts", "rm", "emb"])[0] == 0
    assert json.loads(run(["--index", ix, "alerts", "list", "--json"])[1]) == []


def test_cli_add_keeps_person_and_warning_filters(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, _ = batches
    ix = str(tmp_path / "ix")
    assert run(["--index", ix, "index", str(a)])[0] == 0
    args = ["alerts", "add", "p", "embassy", "--person", "Burns, William J.", "--warning", "subject"]
    code, out, err = run(["--index", ix, *args])
    assert code == 0 and "--person 'Burns, William J.'" in out and "--warning subject" in out, err
    (listed,) = json.loads(run(["--index", ix, "alerts", "list", "--json"])[1])
    assert listed["persons"] == ["Burns, William J."] and listed["warnings"] == ["subject"]


def test_atom_feed_is_read_by_a_feed_parser_and_has_rfc_4287_elements(
    tmp_path: Path, batches: tuple[Path, Path]
) -> None:
    a, b = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    sync(ix, b)
    after_commit(index, Config(index_dir=ix))
    with AlertStore(ix) as store:
        alert, matches = store.get("emb"), store.matches("emb")
        empty = atom_feed(alert, [], "http://example.org/")
    xml = atom_feed(alert, matches, "http://example.org/")
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(matches) > 0
    by_link = {e.link: e for e in parsed.entries}
    for m in matches:
        e = by_link[f"http://example.org/cable/{m.reference_id}"]
        assert e.title == (m.subject or m.reference_id)
        assert m.reference_id in e.summary and e.updated == m.found
    root = ET.fromstring(xml.encode("utf-8"))
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):  # RFC 4287 4.1.1: required of a feed
        assert len(root.findall(f"{ATOM}{tag}")) == 1, tag
    assert root.find(f"{ATOM}author/{ATOM}name") is not None
    assert root.find(f"{ATOM}link[@rel='self']") is not None
    ids = set()
    for entry in root.findall(f"{ATOM}entry"):  # 4.1.2: id, title, updated; a link without content
        for tag in ("id", "title", "updated", "summary"):
            assert len(entry.findall(f"{ATOM}{tag}")) == 1, tag
        assert entry.find(f"{ATOM}link[@rel='alternate']") is not None
        ids.add(entry.findtext(f"{ATOM}id"))
        assert entry.findtext(f"{ATOM}id", "").startswith("urn:uuid:")
        assert entry.findtext(f"{ATOM}updated", "").endswith("Z")
    assert len(ids) == len(matches)
    assert not feedparser.parse(empty).bozo and feedparser.parse(empty).entries == []


def test_alert_command_gets_new_matches_as_json(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, b = batches
    ix = tmp_path / "ix"
    out = tmp_path / "out.json"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    add(ix, "prel", tags=("PREL",))
    config = Config(
        index_dir=ix,
        alert_commands={"emb": f"cat > '{out}'", "prel": "echo broken >&2; exit 3"},
    )
    sync(ix, b)
    lines: list[str] = []
    result = after_commit(index, config, log=lines.append)
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["alert"] == "emb"
    assert {m["reference_id"] for m in payload["matches"]} == found(ix, "emb")
    assert payload["count"] == len(payload["matches"]) == result.notified
    (failure,) = [line for line in lines if "exit 3" in line or "status 3" in line]
    assert "alert prel" in failure and "broken" in failure and "\n" not in failure
    # the failed command is offered its matches again; the one that worked is not re-run
    out.unlink()
    lines.clear()
    again = after_commit(index, config, log=lines.append)
    assert not out.exists() and again.notified == 0 and any("status 3" in line for line in lines)
    slow = Config(index_dir=ix, alert_commands={"prel": "sleep 5"}, alert_command_timeout=0.2)
    lines.clear()
    after_commit(index, slow, log=lines.append)
    assert any("did not finish within 0.2s" in line for line in lines)


def test_alert_commands_from_config_toml_and_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('procs = 1\n\n[alert_commands]\nlibya = "cat > /tmp/x"\n', encoding="utf-8")
    assert load_config(cfg, env={}).alert_commands == {"libya": "cat > /tmp/x"}
    env = {"CABLESEARCH_ALERT_COMMANDS": '{"a": "true"}'}
    assert load_config(cfg, env=env).alert_commands == {"a": "true"}
    with pytest.raises(ConfigError, match="alert_commands"):
        load_config(cfg, env={"CABLESEARCH_ALERT_COMMANDS": "not json"})


CHILD = """
import sys
from pathlib import Path
from cablesearch.alerts import after_commit
from cablesearch.config import Config
from cablesearch.index.store import CableIndex
from cablesearch.index.sync import Syncer
ix, src, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
index = CableIndex.open(ix)
Syncer(index, Config(index_dir=ix), procs=1).sync_paths([src])
print("committed", flush=True)
if mode == "evaluate":
    after_commit(index, Config(index_dir=ix, alert_commands={"emb": sys.argv[4]}))
    print("evaluated", flush=True)
sys.stdin.read()  # wait to be killed
"""


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=ROOT,
    )


def _wait_line(proc: subprocess.Popen[str], wanted: str) -> None:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == wanted, line


@pytest.mark.slow
def test_kill_9_between_index_commit_and_evaluation_loses_nothing(
    tmp_path: Path, batches: tuple[Path, Path]
) -> None:
    a, b = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    proc = _child(str(ix), str(b), "commit-only")
    try:
        _wait_line(proc, "committed")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert found(ix, "emb") == set()  # the child died before evaluating
    # the next run of anything that evaluates (here `alerts list`) catches up
    code, out, _ = run(["--index", str(ix), "alerts", "list", "--json"])
    assert code == 0
    want = expected(ix, "embassy", b)
    assert json.loads(out)[0]["unseen"] == len(want) > 0
    assert found(ix, "emb") == want
    assert after_commit(index, Config(index_dir=ix)).new == {}


@pytest.mark.slow
def test_kill_9_during_alert_command_offers_the_matches_again(
    tmp_path: Path, batches: tuple[Path, Path]
) -> None:
    a, b = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    add(ix, "emb", query="embassy")
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    proc = _child(str(ix), str(b), "evaluate", f"cat > '{first}'; exec sleep 60")
    try:
        _wait_line(proc, "committed")
        deadline = time.monotonic() + 60
        while not (first.exists() and first.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting on a condition (the command has written), bounded
        assert first.exists()
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    want = expected(ix, "embassy", b)
    assert found(ix, "emb") == want  # recorded before the command ran
    config = Config(index_dir=ix, alert_commands={"emb": f"cat > '{second}'"})
    result = after_commit(index, config)
    assert result.new == {}  # nothing recorded twice
    got = {m["reference_id"] for m in json.loads(second.read_text(encoding="utf-8"))["matches"]}
    assert got == want  # at least once: the killed delivery is repeated


def test_after_commit_costs_nothing_without_alerts(tmp_path: Path, batches: tuple[Path, Path]) -> None:
    a, _ = batches
    ix = tmp_path / "ix"
    index = sync(ix, a)
    assert after_commit(index, Config(index_dir=ix)).to_json() == {
        "new": {},
        "evaluated": 0,
        "errors": [],
        "notified": 0,
    }
    assert not AlertStore.exists(ix)


@pytest.mark.parametrize(
    "isolate", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["inline", "indexer-process"]
)
def test_the_daemon_evaluates_saved_searches_after_each_commit(
    tmp_path: Path, batches: tuple[Path, Path], isolate: bool
) -> None:
    """A running daemon records a saved search's new matches after the commit that brought
    them, with no `alerts` command run: files dropped into the watched folder, matches there."""
    from watch_support import wait_until

    from cablesearch.daemon.service import Daemon

    a, b = batches
    index_dir = tmp_path / "ix"
    sync(index_dir, a)
    add(index_dir, "embassy", query="embassy")
    watched = tmp_path / "watched"
    watched.mkdir()
    config = Config(index_dir=index_dir, settle_seconds=0.1, batch_seconds=0.2, rescan_seconds=0.0, procs=1)
    daemon = Daemon(config, [watched], isolate=isolate)
    daemon.start()
    try:
        wait_until(lambda: daemon.idle, 30, message="the catch-up scan")
        for f in b.iterdir():
            (watched / f.name).write_bytes(f.read_bytes())
        want = expected_after(index_dir, "embassy", b, wait_for=len(list(b.iterdir())))
        assert want, "the second batch has cables about an embassy"
        wait_until(lambda: found(index_dir, "embassy") == want, 30, message="the alert's matches")
    finally:
        daemon.stop()


def expected_after(index_dir: Path, query: str, within: Path, wait_for: int) -> set[str]:
    """``expected`` once the ``wait_for`` cables of ``within`` are all in the index."""
    from watch_support import wait_until

    names = {p.stem for p in within.iterdir()}

    def indexed() -> bool:
        ix = CableIndex.open(index_dir, create=False)
        with ix.searcher() as s:
            return len(names & {f["reference_id"] for f in s.all_stored_fields()}) >= wait_for

    wait_until(indexed, 30, message="the dropped cables indexed")
    return expected(index_dir, query, within)
