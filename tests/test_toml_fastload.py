"""The fast reader of plain TOML files agrees with tomllib: it returns tomllib's data or leaves
the file to tomllib (None); it never accepts a text tomllib rejects."""

from __future__ import annotations

import tomllib

from chamberlain.tomlengine.fastload import fast_loads
from hypothesis import given, settings
from hypothesis import strategies as st

_KEY = st.sampled_from(["a", "b", "x-y", "k_1", "1", "é", "a.b", ""])
_VALUE = st.sampled_from([
    '"s"', '""', '"a#b"', '"tab\there"', '"bad\\x"', '"q\\"q"', "'lit'", "'a\\b'", "''",
    "true", "false", "True", "0", "-0", "+7", "1_000", "01", "1__0", "12345678901234567890",
    "1.5", "[1]", "{}", '"\x01"', "nan",
])
_LINE = st.one_of(
    st.builds(lambda k, v, c: f"{k} = {v}{c}", _KEY, _VALUE, st.sampled_from(["", "  # c", "#c", " # \x7f"])),
    st.builds(lambda k, v: f"  {k}\t=\t{v}", _KEY, _VALUE),
    st.builds(lambda t: f"[{t}]", st.sampled_from(["t", "t.u", "a", "a.b", "t.a", "x y", "t..u", "[t]"])),
    st.sampled_from(["", "   ", "# comment", "\t# ünï", "#\x01", "junk", "a =", "[t] # c"]),
)


@settings(max_examples=2000, deadline=None)
@given(st.lists(_LINE, max_size=8), st.booleans(), st.booleans())
def test_fast_reader_returns_tomllibs_data_or_nothing(lines: list[str], final_newline: bool, crlf: bool) -> None:
    text = ("\r\n" if crlf else "\n").join(lines) + ("\n" if final_newline else "")
    fast = fast_loads(text)
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assert fast is None
        return
    assert fast is None or _typed(fast) == _typed(expected)


def _typed(value: object) -> object:
    """Comparable with types: True and 1 differ."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    return (type(value).__name__, value)


def test_plain_config_files_take_the_fast_path() -> None:
    text = '# mine\nmodel = "o3"\n\n[features]\nmemories = true\n\n[shell_environment_policy.set]\nVAR_1 = "v 1"\n'
    assert fast_loads(text) == tomllib.loads(text)
