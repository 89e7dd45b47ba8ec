"""Turning the bytes of a file into text, and refusing what is no text at all.

UTF-16 (with a byte-order mark, or plain text with NUL in every other byte) is read as such,
with a warning. Otherwise UTF-8 first (with or without a byte-order mark); bytes that are not
UTF-8 are read as cp1252, or Latin-1 where cp1252 leaves a byte undefined, and the cable gets a
warning saying so.
Binaries (NUL bytes, many control characters), empty files and files cut off in the middle of a
UTF-8 character are refused with a ``ParseError`` naming the reason.
"""

from __future__ import annotations

import re

from ..errors import ParseError

# How much of a text is looked at to tell a binary from text.
_SNIFF = 65536
# C0 control characters other than tab, line feed, form feed, carriage return (and the
# DOS end-of-file mark, which old text files sometimes carry).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
# More than this share of control characters in the sniffed part: a binary.
_CONTROL_SHARE = 0.01

WARN_CP1252 = "not valid UTF-8: read as cp1252"
WARN_LATIN1 = "not valid UTF-8: read as Latin-1"
WARN_UTF16 = "UTF-16 text (as Windows tools save it): read as UTF-16"


def decode(data: bytes, source: str) -> tuple[str, list[str]]:
    """Decode a file's bytes into text with normalised line ends.

    Returns the text and the warnings to attach to the cable (an encoding other than UTF-8).
    Raises ``ParseError`` for an empty file, a binary, or a file cut off inside a UTF-8
    character.
    """
    if not data.strip():
        raise ParseError(source, "empty file")
    utf16 = _utf16(data)
    if utf16 is not None:
        try:
            text = data.decode(utf16)
        except UnicodeDecodeError:
            raise ParseError(source, "not valid UTF-16 text (cut off or binary), not a cable") from None
        return check_text(text, source), [WARN_UTF16]
    if b"\x00" in data[:_SNIFF]:
        raise ParseError(source, "binary file (NUL bytes), not a cable")
    warnings: list[str] = []
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if (
            exc.reason == "unexpected end of data"
            and exc.end == len(data)
            and _is_utf8_text(data[: exc.start])
        ):
            raise ParseError(source, "truncated file: it ends in the middle of a UTF-8 character") from None
        try:
            text = data.decode("cp1252")
            warnings.append(WARN_CP1252)
        except UnicodeDecodeError:
            text = data.decode("latin-1")
            warnings.append(WARN_LATIN1)
    return check_text(text, source), warnings


def check_text(text: str, source: str) -> str:
    """Refuse text that is empty or looks like a binary; return it with ``\\n`` line ends."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise ParseError(source, "empty file")
    head = text[:_SNIFF]
    if "\x00" in head:
        raise ParseError(source, "binary file (NUL bytes), not a cable")
    controls = len(_CONTROL.findall(head))
    if controls > max(2, len(head) * _CONTROL_SHARE):
        raise ParseError(source, "binary file (control characters), not a cable")
    return text


def _utf16(data: bytes) -> str | None:
    """The codec of a UTF-16 text ("utf-16" with a byte-order mark, "utf-16-le"/"-be" for
    mostly-ASCII text without one: NUL in nearly every other byte), or None."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) and not data.startswith(b"\xff\xfe\x00\x00"):
        return "utf-16"
    head = data[:_SNIFF]
    if len(head) < 64 or len(data) % 2:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) > 0.9 * len(odd) and not even.count(0):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and not odd.count(0):
        return "utf-16-be"
    return None


def _is_utf8_text(data: bytes) -> bool:
    """True when ``data`` is valid UTF-8 with at least one multi-byte character in it, i.e.
    evidently written as UTF-8 (a cp1252 file ending in an accented letter is not)."""
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
