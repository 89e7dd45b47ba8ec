"""Cold-query benchmark: cablesearch against Tantivy, each query asked ONCE, in a fresh process.

The README's search figures repeat a small fixed set of queries, so after the first round every
posting list is in the search service's cache. People do not ask the same question twice.
This benchmark asks N distinct queries made from the corpus's own text (seeded; see
cold_queries.py): single words, two words with AND, two-word phrases from the cables'
sentences, a quarter of those with a filter on a tag of the cable they came from, and a few
misspellings that find nothing and ask for "did you mean". Every query wants what a results
page shows: the total, the facet counts over all matches and 10 hits with snippets.

Measured, each in a fresh process (nothing cached between runs but the OS page cache):
1. cablesearch's bulk indexing of the corpus (Syncer.sync_paths, 2 processes): time, peak RSS;
2. with `tantivy` installed (`pip install -e '.[bench]'`), a Tantivy index of the same files
   through the same parser: time, peak RSS;
3. the library: SearchService in-process, p50/p95/max per kind and overall, RSS after;
4. the API: `cablesearch serve --workers 2` over HTTP on 127.0.0.1, the first --api-queries
   queries one after another, then the RSS of each server process (after --rss-after distinct
   queries in all, when asked);
5. Tantivy: the same queries (count, tag/origin/classification/year counts, 10 snippets), and
   the ratio cablesearch/Tantivy per kind.
--warm asks the same queries a second time in the same processes and prints those figures
beside the cold ones, labelled warm. --baseline SRC (another checkout of cablesearch, e.g.
`git worktree add /tmp/base main`) also runs the library queries with that tree's code, in
turn with this tree's (baseline, this, baseline, this for --rounds 2), on the same index, and
prints the before/after ratio per kind: both sides of a change measured in the same run.

    benchmarks/cold_search.py --smoke                     # ~1 minute: 1,000 cables, 60 queries
    benchmarks/cold_search.py --count 20000 --queries 300 # a small corpus
    benchmarks/cold_search.py                             # the whole release (251,287 cables)
    benchmarks/cold_search.py --work /tmp/cold --rss-after 1000 --warm
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import cold_api  # noqa: E402
import cold_queries  # noqa: E402
from cold_report import (  # noqa: E402
    print_agreement,
    print_before_after,
    print_index,
    print_ratio,
    print_table,
)

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
RUNNERS = HERE / "cold_runners.py"
FULL_RELEASE = 251_287


def have_tantivy() -> bool:
    try:
        import tantivy  # noqa: F401
    except ImportError:
        return False
    return True


def make_corpus(work: Path, count: int) -> Path:
    corpus = work / f"corpus-{count}"
    if not (corpus / ".complete").exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"{MAKE_CORPUS} is missing: this benchmark needs ../shared (make_corpus.py)")
        print(f"making {count:,} telegram files in {corpus} ...", flush=True)
        cmd = [sys.executable, str(MAKE_CORPUS), str(corpus), "--format", "telegram"]
        if count != FULL_RELEASE:
            cmd += ["--count", str(count)]
        subprocess.run(cmd, check=True)
        (corpus / ".complete").write_text("ok\n")
    return corpus


def run_child(
    command: str, a: Path, b: Path, out: Path, *flags: str, runners: Path = RUNNERS
) -> dict[str, Any]:
    """One cold_runners.py command in a fresh Python process; its JSON result (written to out).
    ``runners``: another tree's cold_runners.py (it imports that tree's cablesearch)."""
    out.unlink(missing_ok=True)
    subprocess.run([sys.executable, str(runners), command, str(a), str(b), str(out), *flags], check=True)
    return json.loads(out.read_text(encoding="utf-8"))


def library_runs(args: argparse.Namespace, index: Path, queries: Path, warm: list[str]) -> dict[str, Any]:
    """The library run; with --baseline, the baseline tree's and this tree's in turn, --rounds
    times each: {"library": the last of this tree's, "baseline": the last of the baseline's,
    "rounds": [(baseline, this) per round]}."""
    if args.baseline is None:
        return {"library": run_child("search-cablesearch", index, queries, args.work / "library.json", *warm)}
    base_runners = args.baseline / "benchmarks" / "cold_runners.py"
    rounds = []
    for i in range(args.rounds):
        print(f"  round {i + 1}: baseline {args.baseline}, then this tree ...", flush=True)
        before = run_child(
            "search-cablesearch", index, queries, args.work / "baseline.json", *warm, runners=base_runners
        )
        after = run_child("search-cablesearch", index, queries, args.work / "library.json", *warm)
        rounds.append((before, after))
    return {"library": rounds[-1][1], "baseline": rounds[-1][0], "rounds": rounds}


def build_index(engine: str, corpus: Path, work: Path, count: int) -> tuple[Path, dict[str, Any]]:
    """The engine's index of the corpus, built once under work (its timing kept beside it)."""
    index_dir = work / f"index-{engine}-{count}"
    record = work / f"index-{engine}-{count}.json"
    if record.exists() and index_dir.exists():
        result = json.loads(record.read_text(encoding="utf-8"))
        result["reused"] = True
        return index_dir, result
    if index_dir.exists():
        import shutil

        shutil.rmtree(index_dir)
    print(f"indexing {corpus} with {engine} into {index_dir} ...", flush=True)
    result = run_child(f"index-{engine}", corpus, index_dir, record)
    return index_dir, result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--count", type=int, default=FULL_RELEASE, help="cables in the corpus (default: the whole release)"
    )
    ap.add_argument("--queries", type=int, default=300, help="distinct queries for the library and Tantivy")
    ap.add_argument(
        "--api-queries",
        type=int,
        default=None,
        help="of those, how many go through /api/search (default 300)",
    )
    ap.add_argument(
        "--rss-after",
        type=int,
        default=0,
        metavar="N",
        help="read the servers' RSS after N distinct queries (e.g. 1000; more are sent untimed)",
    )
    ap.add_argument("--seed", type=int, default=12, help="seed of the query choice (12)")
    ap.add_argument("--work", type=Path, default=None, help="folder for the corpus and indexes (reused)")
    ap.add_argument("--warm", action="store_true", help="also ask every query again, printed as warm")
    ap.add_argument("--no-api", action="store_true", help="skip the /api/search run")
    ap.add_argument("--no-tantivy", action="store_true", help="skip Tantivy even if it is installed")
    ap.add_argument("--smoke", action="store_true", help="1,000 cables, 60 queries, 30 over HTTP (~1 minute)")
    ap.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="SRC",
        help="another cablesearch checkout: its library run too, in turn with this one (before/after)",
    )
    ap.add_argument("--rounds", type=int, default=1, help="library runs per side with --baseline (1)")
    args = ap.parse_args(argv)
    if args.smoke:
        args.count, args.queries = 1000, 60
        args.api_queries = args.api_queries or 30
    if args.api_queries is None:
        args.api_queries = min(300, args.queries)
    if args.count < 1 or args.queries < 1 or args.api_queries < 0 or args.rss_after < 0:
        ap.error("--count and --queries must be at least 1; --api-queries and --rss-after at least 0")
    if args.work is None:
        args.work = Path("/tmp") / f"cablesearch-coldbench-{args.count}"
    if args.baseline is not None and not (args.baseline / "benchmarks" / "cold_runners.py").exists():
        ap.error(f"--baseline {args.baseline}: no benchmarks/cold_runners.py there (a cablesearch checkout?)")
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    corpus = make_corpus(args.work, args.count)
    tantivy = have_tantivy() and not args.no_tantivy

    cs_index, cs_build = build_index("cablesearch", corpus, args.work, args.count)
    indexing = [cs_build]
    if tantivy:
        tv_index, tv_build = build_index("tantivy", corpus, args.work, args.count)
        indexing.append(tv_build)

    n_total = max(args.queries, args.api_queries, args.rss_after)
    t0 = time.perf_counter()
    maker = cold_queries.QueryMaker(cold_queries.corpus_files(corpus), args.seed)
    # the first --queries do not depend on how many more the API run needs
    asked = maker.make(args.queries)
    queries = asked + maker.make(n_total - args.queries)
    qfile = args.work / f"queries-seed{args.seed}-{args.queries}+{n_total - args.queries}.jsonl"
    cold_queries.save(queries, qfile)
    qfile_asked = args.work / f"queries-seed{args.seed}-{args.queries}.jsonl"
    cold_queries.save(asked, qfile_asked)
    print(
        f"{len(queries):,} distinct queries made in {time.perf_counter() - t0:.1f} s -> {qfile}", flush=True
    )

    warm = ["--warm"] if args.warm else []
    results: dict[str, dict[str, Any]] = {}
    print("asking them through the library (fresh process) ...", flush=True)
    lib = library_runs(args, cs_index, qfile_asked, warm)
    results["library"] = lib["library"]
    if "baseline" in lib:
        results["baseline"] = lib["baseline"]
    if tantivy:
        print("asking them through Tantivy (fresh process) ...", flush=True)
        results["tantivy"] = run_child(
            "search-tantivy", tv_index, qfile_asked, args.work / "tantivy.json", *warm
        )
    if not args.no_api and args.api_queries:
        print(f"asking {args.api_queries} through /api/search (fresh `cablesearch serve --workers 2`) ...")
        results["api"] = cold_api.run(cs_index, queries, args.api_queries, args.rss_after, args.work)

    print(
        f"\n== cold-query benchmark, {date.today():%Y-%m-%d}: {cs_build['cables']:,} cables "
        f"(make_corpus.py --count {args.count}), seed {args.seed} =="
    )
    print_index(indexing)
    if len(indexing) == 2 and indexing[0]["cables"] != indexing[1]["cables"]:
        print(f"  NOTE: the two indexes hold different numbers of cables (see {args.work})")
    print(
        "\nCOLD figures: every query asked once, in a fresh process (the OS page cache is not "
        "dropped); start-up (opening the index) not included."
    )
    for name, res in results.items():
        print_table(name, res)
    for i, (before, after) in enumerate(lib.get("rounds", []), start=1):
        print_before_after(before, after, i)
    if "tantivy" in results:
        print_agreement(results["library"], results["tantivy"], asked)
        print_ratio(results["library"], results["tantivy"], "library")
        if "api" in results:
            print_ratio(results["api"], results["tantivy"], "api")
        print(
            "  (misspelt: cablesearch searches, finds nothing and makes a suggestion; Tantivy has "
            "no suggester, so its misspelt query is asked as typed and then as a fuzzy query)"
        )


if __name__ == "__main__":
    main()
