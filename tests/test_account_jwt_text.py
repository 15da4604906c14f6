"""The texts of ``failed to set external auth: …`` for access tokens whose payload does not
decode, as 0.169.0 words them (checked with refpeer: tests/scenarios/account-external.jsonl)."""

from __future__ import annotations

import base64

import pytest
from chamberlain.remote.jwt_text import payload_error_text


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


HEADER = b64('{"alg":"none"}')
EMAIL_NUMBER = b64('{"email": 5}')


@pytest.mark.parametrize(("token", "text"), [
    ("a.b", "invalid ID token format"),
    ("a..c", "invalid ID token format"),
    (f"{HEADER}.{b64('not json')}.sig", "expected ident at line 1 column 2"),
    (f"{HEADER}.{b64('  {}  x')}.sig", "trailing characters at line 1 column 7"),
    (f"{HEADER}.!!!.sig", "Invalid symbol 33, offset 0."),
    (f"{HEADER}.{b64('{}')}==.sig", "Invalid symbol 61, offset 3."),
    # claim types are not reproduced: the generic text
    (f"{HEADER}.{EMAIL_NUMBER}.sig", "invalid ID token format"),
])
def test_payload_errors_are_worded_as_the_reference(token: str, text: str) -> None:
    assert payload_error_text(token) == text
