"""Request bodies read within a size limit: HTML form posts (``application/x-www-form-urlencoded``
and ``multipart/form-data`` with an uploaded file), JSON, and plain text.

Multipart bodies are split with the standard library's e-mail parser (the MIME format is the
same), so no form library is needed for the one upload the site takes (a batch file).
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from ..errors import CablesearchError


class BadBody(CablesearchError):
    """The request body cannot be read as what the endpoint takes (400)."""


class BodyTooLarge(CablesearchError):
    """The request body is over the endpoint's size limit (413)."""

    http_status = 413


@dataclass
class Upload:
    filename: str
    data: bytes


@dataclass
class Body:
    """A request body: its media type, form fields, uploaded files, and the raw bytes."""

    media_type: str
    raw: bytes
    fields: dict[str, str] = field(default_factory=dict)  # the last value of each field
    pairs: list[tuple[str, str]] = field(default_factory=list)  # every field, in order
    files: dict[str, Upload] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadBody(f"the request body is not valid JSON ({exc})") from None

    def text(self, what: str = "the request body") -> str:
        return decode_text(self.raw, what)


def decode_text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadBody(f"{what} is not UTF-8 text; save it as UTF-8 and send it again") from None


async def read_body(request: Request, max_bytes: int) -> Body:
    """The body, parsed by its Content-Type; :class:`BodyTooLarge` past ``max_bytes`` (read no
    further than that), :class:`BadBody` when a form cannot be parsed."""
    declared = request.headers.get("content-length", "")
    limit_text = f"{max_bytes // 1000:,} kB"
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"the request is {int(declared):,} bytes; at most {limit_text} are taken")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"the request is over {limit_text}; send a shorter list")
        chunks.append(chunk)
    raw = b"".join(chunks)
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    body = Body(media_type, raw)
    if media_type == "application/x-www-form-urlencoded":
        text = decode_text(raw, "the form")
        body.pairs = parse_qsl(text, keep_blank_values=True)
        body.fields = dict(body.pairs)
    elif media_type == "multipart/form-data":
        _parse_multipart(content_type, raw, body)
    return body


def _parse_multipart(content_type: str, raw: bytes, body: Body) -> None:
    if "boundary=" not in content_type:
        raise BadBody("the form upload has no boundary in its Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    if not message.is_multipart():
        raise BadBody("the form upload cannot be read as multipart/form-data")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            body.files[name] = Upload(filename, data)
        else:
            body.fields[name] = decode_text(data, f"form field {name!r}")
            body.pairs.append((name, body.fields[name]))
