"""The reference's error text for an external access token whose payload does not decode (spec
account.md §6.4: ``failed to set external auth: <text>``).

0.169.0 reports the base64 decoder's or serde_json's own message: ``Invalid symbol 33, offset 0.``
for a byte outside the URL-safe alphabet, ``expected ident at line 1 column 2`` for a payload that
is not JSON. Where its text depends on the claim types (``invalid type: …, expected struct
IdClaims``) this module does not reproduce it and the text is ``invalid ID token format``.
"""

from __future__ import annotations

import base64
import binascii
import string
from typing import Final

from chamberlain.remote.serde_json_text import DecodeError, check_trailing, load

__all__ = ["INVALID_FORMAT", "payload_error_text"]

INVALID_FORMAT: Final = "invalid ID token format"
_ALPHABET: Final = frozenset(string.ascii_letters + string.digits + "-_")


def payload_error_text(token: str) -> str:
    """Why ``token`` (already refused as a JWT) was refused, worded as the reference words it."""
    parts = token.split(".")
    if len(parts) < 3 or not all(parts[:3]):
        return INVALID_FORMAT
    segment = parts[1]
    for offset, char in enumerate(segment):
        if char not in _ALPHABET:
            return f"Invalid symbol {ord(char)}, offset {offset}." if char.isascii() else INVALID_FORMAT
    try:
        body = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode("utf-8")
    except (binascii.Error, ValueError):
        return INVALID_FORMAT
    try:
        _, end = load(body)
        check_trailing(body, end)
    except DecodeError as exc:
        return exc.text(body)
    return INVALID_FORMAT
