"""Whether an id_token can be stored, with the reference's texts (spec account.md §15).

The reference parses the id_token's claims when it persists a login; a token it cannot read ends
the device-code login with the parser's text (``invalid ID token format``, the base64 crate's
``Invalid symbol 33, offset 0.``, serde_json's ``expected ident at line 1 column 2``) and the
browser login with the could-not-be-saved page. Checked case by case on the binary.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Final

from chamberlain.remote.usercode_json import json_error_text, scalar_type_text

__all__ = ["id_token_problem"]

_ALPHABET: Final = (string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_").encode()
_CLAIMS: Final = "struct IdClaims"


def _base64_problem(segment: str) -> str | None:
    """The Rust base64 crate's error for an URL-safe, unpadded segment, or None."""
    raw = segment.encode()
    padded = raw.rstrip(b"=")
    for offset, byte in enumerate(padded):
        if byte not in _ALPHABET:
            return f"Invalid symbol {byte}, offset {offset}."
    if padded != raw:
        return "Invalid padding"
    if len(raw) % 4 == 1:
        return f"Invalid input length: {len(raw)}"
    last = _ALPHABET.index(raw[-1])
    unused_bits = {2: 0x0F, 3: 0x03}.get(len(raw) % 4, 0)
    if last & unused_bits:
        return f"Invalid last symbol {raw[-1]}, offset {len(raw) - 1}."
    return None


def id_token_problem(token: str) -> str | None:
    """Why the reference could not read ``token``'s claims, or None when it could.

    Type errors inside the claims object are not reproduced (the AuthActor reads those claims).
    """
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return "invalid ID token format"
    problem = _base64_problem(parts[1])
    if problem is not None:
        return problem
    text = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return json_error_text(text, exc)
    if isinstance(value, (dict, list)):
        return None
    return scalar_type_text(text, value, _CLAIMS)
