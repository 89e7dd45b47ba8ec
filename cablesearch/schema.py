"""The Whoosh schema and the mapping from a Cable to an index document.

Field names here are the contract between the indexer, the query module, the CLI and the web
layer; change them only together with all of those.
"""

from __future__ import annotations

import pickle
import zlib
from typing import Any

from whoosh import fields
from whoosh.analysis import StemmingAnalyzer

from .model import Cable

SCHEMA_VERSION = 1

TEXT_ANALYZER = StemmingAnalyzer()


def build_schema() -> fields.Schema:
    return fields.Schema(
        reference_id=fields.ID(stored=True, unique=True, sortable=True),
        subject=fields.TEXT(analyzer=TEXT_ANALYZER, stored=True, phrase=True),
        body=fields.TEXT(analyzer=TEXT_ANALYZER, stored=False, phrase=True),
        tags=fields.KEYWORD(stored=True, lowercase=False, scorable=False),
        origin=fields.ID(stored=True, sortable=True),
        classification=fields.ID(stored=True, sortable=True),
        created=fields.DATETIME(stored=True, sortable=True),
        released=fields.DATETIME(stored=True, sortable=True),
        references=fields.KEYWORD(stored=True, lowercase=False, scorable=False),
        recipients=fields.TEXT(stored=False),
        signers=fields.TEXT(stored=True),
        record=fields.STORED(),   # zlib-compressed pickle of the whole Cable, for show/cable view
    )


def pack_cable(cable: Cable) -> bytes:
    return zlib.compress(pickle.dumps(cable, protocol=pickle.HIGHEST_PROTOCOL), 3)


def unpack_cable(data: bytes) -> Cable:
    return pickle.loads(zlib.decompress(data))  # noqa: S301 - our own index, written by us


def cable_to_doc(cable: Cable) -> dict[str, Any]:
    """The keyword arguments for ``writer.update_document`` for one cable."""
    doc: dict[str, Any] = {
        "reference_id": cable.reference_id,
        "subject": cable.subject,
        "body": cable.body,
        "tags": " ".join(cable.tags),
        "origin": cable.origin,
        "classification": cable.classification,
        "references": " ".join(cable.references),
        "recipients": "\n".join(cable.to + cable.info),
        "signers": "\n".join(cable.signers),
        "record": pack_cable(cable),
    }
    if cable.created:
        doc["created"] = cable.created
    if cable.released:
        doc["released"] = cable.released
    return {k: v for k, v in doc.items() if v != ""}
