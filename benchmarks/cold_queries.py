"""Distinct, seeded queries taken from a corpus's own text, for benchmarks/cold_search.py.

Each query is built from one cable picked at random (seeded) from the corpus files:

- ``word``: one word of its body;
- ``and``: two words of its body joined by ``AND``;
- ``phrase``: two adjacent words of one of its sentences (nothing but spaces or punctuation
  between them), quoted;
- ``tagged``: one of the three above plus a filter on one of the cable's own tags
  (a quarter of the non-misspelt queries);
- ``misspelt``: a word of its body with two inner letters swapped and one doubled, so that it
  is in no cable: it finds nothing and asks the engine for "did you mean".

Words are alphabetic, at least 4 letters (3 in phrases) and no stop word. Queries are never
repeated within a set: two queries whose words have the same stems count as the same query
(so a cached posting list of "embassy" is not reused by "embassies").
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import Stemmer

KINDS = ("word", "and", "phrase", "tagged", "misspelt")
MISSPELT_SHARE = 0.05  # of all queries; each costs a "did you mean" search
TAGGED_SHARE = 0.25  # of the others

_STOP_WORDS = """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself yourselves
    said says will would could should shall may might must one two three also per mr ms"""
STOP = frozenset(_STOP_WORDS.split())
WORD = re.compile(r"[A-Za-z]+")
TOKEN = re.compile(r"[A-Za-z0-9]+")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class ColdQuery:
    kind: str
    query: str
    tag: str | None = None  # filter on this tag (the "tagged" kind)
    source: str = ""  # the cable file it was taken from

    def to_json(self) -> dict:
        return asdict(self)


def corpus_files(corpus: Path) -> list[Path]:
    """Every cable file under ``corpus`` (telegram/page/html files), in name order."""
    out: list[Path] = []
    for root, dirs, files in os.walk(corpus):
        dirs.sort()
        out.extend(Path(root) / f for f in sorted(files) if not f.startswith(".") and f != "truth.jsonl")
    return out


def _text_and_tags(path: Path) -> tuple[str, list[str]]:
    """The body paragraphs (after the SUBJECT line) and the TAGS of a telegram-style file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    tags: list[str] = []
    m = re.search(r"^TAGS:?\s*(.+)$", text, re.M)
    if m:
        tags = [t for t in re.split(r"[\s,]+", m.group(1).strip()) if t.isalnum() and t.isupper()]
    body = text.split("SUBJECT", 1)[-1].split("\n", 1)[-1]
    return body, tags


def _good(word: str, min_len: int = 4) -> bool:
    return len(word) >= min_len and word.lower() not in STOP


def _misspell(rng: random.Random, word: str) -> str:
    """Two edits: swap two inner letters, double another one (rarely a real word)."""
    w = list(word.lower())
    i = rng.randrange(1, len(w) - 2)
    w[i], w[i + 1] = w[i + 1], w[i]
    j = rng.randrange(1, len(w) - 1)
    w.insert(j, w[j])
    return "".join(w)


class QueryMaker:
    """Makes ``ColdQuery`` objects from randomly chosen corpus files, skipping repeats."""

    def __init__(self, files: list[Path], seed: int):
        if not files:
            raise SystemExit("the corpus has no files to take queries from")
        self.files = files
        self.rng = random.Random(seed)
        self.stem = Stemmer.Stemmer("english").stemWord
        self.seen: set[tuple[str, tuple[str, ...], str | None]] = set()
        self.vocabulary: set[str] = set()  # every word of every file read, to keep misspellings new

    def _key(self, kind: str, words: list[str], tag: str | None) -> tuple[str, tuple[str, ...], str | None]:
        stems = [self.stem(w.lower()) for w in words]
        return (
            "phrase" if kind == "phrase" else "terms",
            tuple(stems if kind == "phrase" else sorted(stems)),
            tag,
        )

    def _one(self, kind: str, tagged: bool) -> ColdQuery | None:
        path = self.rng.choice(self.files)
        body, tags = _text_and_tags(path)
        words = WORD.findall(body)
        self.vocabulary.update(w.lower() for w in words)
        good = [w for w in words if _good(w)]
        tag = self.rng.choice(tags) if tagged and tags else None
        if tagged and tag is None:
            return None
        if kind == "word" and good:
            chosen = [self.rng.choice(good).lower()]
            text = chosen[0]
        elif kind == "and" and len(set(good)) >= 2:
            chosen = [w.lower() for w in self.rng.sample(sorted(set(good)), 2)]
            text = f"{chosen[0]} AND {chosen[1]}"
        elif kind == "phrase":
            pairs: list[tuple[str, str]] = []
            for sentence in SENTENCE.split(body):
                # adjacent tokens (numbers and apostrophes split words too), both of them words
                ws = TOKEN.findall(sentence)
                pairs.extend(
                    (a, b)
                    for a, b in itertools.pairwise(ws)
                    if a.isalpha() and b.isalpha() and _good(a, 3) and _good(b, 3)
                )
            if not pairs:
                return None
            chosen = [w.lower() for w in self.rng.choice(pairs)]
            text = f'"{chosen[0]} {chosen[1]}"'
        elif kind == "misspelt":
            long_words = [w for w in good if len(w) >= 7]
            if not long_words:
                return None
            text = _misspell(self.rng, self.rng.choice(long_words))
            if text in self.vocabulary:
                return None
            chosen = [text]
        else:
            return None
        key = self._key(kind, chosen, tag)
        if key in self.seen:
            return None
        self.seen.add(key)
        return ColdQuery("tagged" if tag else kind, text, tag, str(path))

    def make(self, count: int) -> list[ColdQuery]:
        """``count`` distinct queries in a seeded random order (misspellings are made last, so
        that they are checked against the words of every file read before)."""
        n_miss = max(1, round(count * MISSPELT_SHARE)) if count >= 10 else 0
        rest = count - n_miss
        n_tagged = round(rest * TAGGED_SHARE)
        plan = [(("word", "and", "phrase")[i % 3], i < n_tagged) for i in range(rest)]
        plan += [("misspelt", False)] * n_miss
        out: list[ColdQuery] = []
        for kind, tagged in plan:
            for _attempt in range(200):
                q = self._one(kind, tagged)
                if q is not None:
                    out.append(q)
                    break
        self.rng.shuffle(out)
        return out


def make_queries(corpus: Path, count: int, seed: int) -> list[ColdQuery]:
    return QueryMaker(corpus_files(corpus), seed).make(count)


def save(queries: list[ColdQuery], path: Path) -> None:
    path.write_text("\n".join(json.dumps(q.to_json()) for q in queries) + "\n", encoding="utf-8")


def load(path: Path) -> list[ColdQuery]:
    return [ColdQuery(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]
