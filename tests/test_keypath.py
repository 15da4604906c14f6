"""keyPath grammar (spec §5.4): every rule, every error message, and the quoting round-trip."""

from __future__ import annotations

import pytest
from chamberlain.store.keypath import KeyPathError, parse_key_path, quote_segment
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("key_path", "segments"),
    [
        ("model", ["model"]),
        ("sandbox_workspace_write.network_access", ["sandbox_workspace_write", "network_access"]),
        ('projects."/home/alice/my.proj".trust_level', ["projects", "/home/alice/my.proj", "trust_level"]),
        ('desktop."we\\"ird.key"', ["desktop", 'we"ird.key']),
        ('desktop."a\\.b"', ["desktop", "a.b"]),
        ('desktop."a\\q"', ["desktop", "aq"]),
        ('desktop."a\\\\b"', ["desktop", "a\\b"]),
        ("desktop.a b", ["desktop", "a b"]),
        ("desktop.sample@catalog", ["desktop", "sample@catalog"]),
        ("desktop.\\", ["desktop", "\\"]),
        ("mcp_servers.foo.args.0", ["mcp_servers", "foo", "args", "0"]),
        ('desktop."q"r', ["desktop", "qr"]),
        ('desktop.""a', ["desktop", "a"]),
        ('desktop." "', ["desktop", " "]),
        ('desktop."x"."y"', ["desktop", "x", "y"]),
        (" model ", [" model "]),
        ("\x1c", ["\x1c"]),
        ("ü.日本", ["ü", "日本"]),
    ],
)
def test_valid_key_paths_split_into_segments(key_path: str, segments: list[str]) -> None:
    assert parse_key_path(key_path) == segments


@pytest.mark.parametrize(
    ("key_path", "message"),
    [
        ("", "keyPath must not be empty"),
        ("   ", "keyPath must not be empty"),
        ("\t\n", "keyPath must not be empty"),
        ("\u3000", "keyPath must not be empty"),
        ("a..b", "keyPath segments must not be empty"),
        (".a", "keyPath segments must not be empty"),
        ("a.", "keyPath segments must not be empty"),
        ('""', "keyPath segments must not be empty"),
        ('desktop.""', "keyPath segments must not be empty"),
        ('"a.b', "unterminated quoted keyPath segment"),
        ('desktop."""', "unterminated quoted keyPath segment"),
        ('a"b', "invalid quoted keyPath segment"),
        ('desktop."a""b"', "invalid quoted keyPath segment"),
        ('desktop."a\\', "unterminated escape in keyPath"),
    ],
)
def test_invalid_key_paths_fail_with_the_reference_message(key_path: str, message: str) -> None:
    with pytest.raises(KeyPathError) as excinfo:
        parse_key_path(key_path)
    assert str(excinfo.value) == message


def test_quote_segment_leaves_plain_segments_bare() -> None:
    assert quote_segment("sample@catalog") == "sample@catalog"


def test_quote_segment_quotes_dots_quotes_and_whitespace_only_segments() -> None:
    assert quote_segment("a.b") == '"a.b"'
    assert quote_segment('we"ird') == '"we\\"ird"'
    assert quote_segment(" ") == '" "'


def test_quote_segment_refuses_an_empty_segment() -> None:
    with pytest.raises(KeyPathError, match="keyPath segments must not be empty"):
        quote_segment("")


_segment_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([".", '"', "\\", " ", "\t", "@", "/", "ü", "\u3000"]), st.characters()
    ),
    min_size=1,
    max_size=12,
)


@given(st.lists(_segment_text, min_size=1, max_size=6))
def test_quoted_segments_parse_back_to_the_same_segments(segments: list[str]) -> None:
    assert parse_key_path(".".join(quote_segment(s) for s in segments)) == segments
