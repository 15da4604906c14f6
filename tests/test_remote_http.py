"""Test charter: the header sets of spec account.md §17 and the reqwest wording of a status line,
as they appear inside the reference's error texts."""

from __future__ import annotations

import pytest
from chamberlain.remote.http import BackendAuth, issuer_headers, status_text


@pytest.mark.parametrize(("status", "text"), [
    (500, "500 Internal Server Error"), (404, "404 Not Found"), (401, "401 Unauthorized"),
    (413, "413 Payload Too Large"), (418, "418 I'm a teapot"), (599, "599 <unknown status code>"),
])
def test_status_lines_are_worded_as_reqwest_words_them(status: int, text: str) -> None:
    assert status_text(status) == text


def test_backend_headers_carry_bearer_workspace_and_user_agent_only() -> None:
    assert BackendAuth("tok", "ws-1", "ua/1").headers() == {
        "User-Agent": "ua/1", "Authorization": "Bearer tok", "ChatGPT-Account-Id": "ws-1"}


def test_backend_headers_without_workspace_and_with_fedramp() -> None:
    assert BackendAuth("tok", None, "ua/1", fedramp=True).headers() == {
        "User-Agent": "ua/1", "Authorization": "Bearer tok", "X-OpenAI-Fedramp": "true"}


def test_issuer_headers_name_the_originator_and_never_authorize() -> None:
    assert issuer_headers("codex_cli_rs", "ua/1") == {"originator": "codex_cli_rs", "User-Agent": "ua/1"}
