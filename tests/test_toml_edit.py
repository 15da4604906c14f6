"""Format-preserving config edits (spec §5.5, §5.8, §15.4), checked against the reference's bytes.

Each test builds a file, applies edits with ``EditDocument.edit`` the way the write path does (one parsed
document per request, edits in order) and asserts on the resulting text. The expected texts were
produced by codex-cli 0.169.0; ``test_edit_sequences_match_the_reference_server_bytes`` replays a
few of them live when the reference binary is installed.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, Final, Literal

import pytest
import tomlkit  # test-only cross-check: the generator spells values with an independent TOML writer
from chamberlain import tomlengine
from chamberlain.store.keypath import parse_key_path, quote_segment
from chamberlain.store.toml_edit import EditDocument, EditError, ValueRangeError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

Edit = tuple[str, Any, Literal["replace", "upsert"]]



def edit(text: str, *edits: Edit) -> str:
    """One request: parse, apply every edit in order, render."""
    doc = EditDocument(text)
    for key_path, value, strategy in edits:
        doc.edit(parse_key_path(key_path), value, strategy)
    return doc.text()


def edit_each(text: str, edits: list[Edit]) -> str:
    """One request per edit, re-reading the file in between (as separate config/value/write calls)."""
    for one in edits:
        text = edit(text, one)
    return text


# --------------------------------------------------------------------------------------------
# §15.4 byte for byte

SPEC_15_4_START: Final = """\
# Leading comment
model = "gpt-5" # trailing comment
approval_policy = "on-request"

# comment before table
[features]
# inside table comment
memories = true   # keep me

[mcp_servers.foo]
command = "echo"
args = [ "a",   "b" ]  # spaced array

[tui]
notifications = true
"""

SPEC_15_4_EDITS: Final[list[Edit]] = [
    ("model", "o3", "replace"),
    ("features.apps", True, "replace"),
    ("mcp_servers.foo.args", ["c"], "replace"),
    ("mcp_servers.foo", {"cwd": "/data/shared", "env": {"B": "2"}}, "upsert"),
    ("mcp_servers.foo", {"command": "cat"}, "replace"),
    ("tui.notifications", None, "replace"),
    ('projects."/home/alice/my.proj".trust_level', "trusted", "replace"),
    ('desktop."we\\"ird.key"', 1, "replace"),
    ("desktop.sample@catalog", 1.5, "replace"),
    (
        "desktop.nested",
        {"a": {"b": {"c": 1}}, "arr": [{"x": 1}, {"y": 2}], "mixed": [1, "a"], "s": 'ü\n"q"'},
        "replace",
    ),
    ("approval_policy", None, "upsert"),
    ("features", {"memories": False}, "upsert"),
    ("features", None, "replace"),
]

SPEC_15_4_RESULT: Final = """\
# Leading comment
model = "o3" # trailing comment

[mcp_servers.foo]
command = "cat"

[tui]

[projects."/home/alice/my.proj"]
trust_level = "trusted"

[desktop]
'we"ird.key' = 1
"sample@catalog" = 1.5

[desktop.nested]
arr = [{ x = 1 }, { y = 2 }]
mixed = [1, "a"]
s = \"\"\"
ü
"q\"\"\"\"

[desktop.nested.a]

[desktop.nested.a.b]
c = 1
"""


def test_spec_15_4_write_sequence_produces_the_reference_file() -> None:
    assert edit_each(SPEC_15_4_START, SPEC_15_4_EDITS) == SPEC_15_4_RESULT


def test_spec_15_4_edits_in_one_batch_produce_the_same_file() -> None:
    assert edit(SPEC_15_4_START, *SPEC_15_4_EDITS) == SPEC_15_4_RESULT


def test_spec_15_4_intermediate_upsert_adds_cwd_and_a_table_right_after_its_parent() -> None:
    text = edit_each(SPEC_15_4_START, SPEC_15_4_EDITS[:4])
    assert text.endswith(
        '[mcp_servers.foo]\ncommand = "echo"\nargs = ["c"]  # spaced array\ncwd = "/data/shared"\n\n'
        '[mcp_servers.foo.env]\nB = "2"\n\n[tui]\nnotifications = true\n'
    )


# --------------------------------------------------------------------------------------------
# Changing values


def test_changed_value_keeps_position_and_trailing_comment_and_is_rendered_canonically() -> None:
    text = 'a = 1\nargs = [ "a",   "b" ]  # spaced array\nz = 2\n'
    assert edit(text, ("args", ["c", "d"], "replace")) == 'a = 1\nargs = ["c", "d"]  # spaced array\nz = 2\n'


def test_writing_the_current_value_leaves_the_document_untouched() -> None:
    text = '[desktop]\nargs = [ "a",   "b" ]  # spaced\nn = 0x10\n'
    doc = EditDocument(text)
    doc.edit(["desktop", "args"], ["a", "b"], "replace")
    doc.edit(["desktop"], {"args": ["a", "b"], "n": 16}, "upsert")
    assert doc.text() == text


def test_integer_stays_integer_and_float_stays_float() -> None:
    text = edit("", ("zz.i", 30, "replace"), ("zz.f", 1.5, "replace"), ("zz.g", 30.0, "replace"))
    assert text == "[zz]\ni = 30\nf = 1.5\ng = 30.0\n"
    plain = tomllib.loads(text)["zz"]
    assert type(plain["i"]) is int and type(plain["g"]) is float


def test_an_integer_replaced_by_an_equal_float_or_bool_is_a_change() -> None:
    assert edit("[zz]\na = 1\nb = 1\n", ("zz.a", 1.0, "replace"), ("zz.b", True, "replace")) == (
        "[zz]\na = 1.0\nb = true\n"
    )


def test_negative_zero_replaces_zero() -> None:
    assert edit("[zz]\na = 0.0\n", ("zz.a", -0.0, "replace")) == "[zz]\na = -0.0\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1e100, "1" + "0" * 100 + ".0"),
        (0.1, "0.1"),
        (1e16, "10000000000000000.0"),
        (5e-324, "0." + "0" * 323 + "5"),
        (12345.678, "12345.678"),
        (-2.5, "-2.5"),
        (9223372036854775807, "9223372036854775807"),
        (-9223372036854775808, "-9223372036854775808"),
        (True, "true"),
        ([], "[]"),
        ([[]], "[[]]"),
        ([{}], "[{}]"),
        ([[1, 2], ["a", [True]]], '[[1, 2], ["a", [true]]]'),
        ([{"a": {"b": 1}, "c": [1]}], "[{ a = { b = 1 }, c = [1] }]"),
    ],
)
def test_values_are_rendered_like_the_reference(value: Any, expected: str) -> None:
    assert edit("", ("zz.v", value, "replace")) == f"[zz]\nv = {expected}\n"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("", '""'),
        ("a'b", '"a\'b"'),
        ('a"b', "'a\"b'"),
        ("a\\b", "'a\\b'"),
        ("\t", '"\\t"'),
        ('a\tb"', "'a\tb\"'"),
        ("a'b\"c", '"""a\'b"c"""'),
        ("a\nb", '"""\na\nb"""'),
        ("line\n", '"""\nline\n"""'),
        ('a"""b\nc', "'''\na\"\"\"b\nc'''"),
        ("a\\\nb", "'''\na\\\nb'''"),
        ("a\\'\"", "'''a\\'\"'''"),
        ("\\'''\n", '"""\n\\\\\'\'\'\n"""'),
        ('\x01"""\n', '"""\n\\u0001""\\"\n"""'),
        ("a\r\nb", '"""\na\\r\nb"""'),
        ("a\rb", '"a\\rb"'),
        ("\x7f", '"\\u007F"'),
        ("\b\f", '"\\b\\f"'),
        ("ü\u2028", '"ü\u2028"'),
    ],
)
def test_strings_use_the_reference_quoting_style(value: str, expected: str) -> None:
    text = edit("", ("zz.s", value, "replace"))
    assert text == f"[zz]\ns = {expected}\n"
    assert tomllib.loads(text)["zz"]["s"] == value


def test_strings_containing_a_newline_become_multi_line_basic_strings() -> None:
    assert edit("", ("zz.s", 'ü\n"q"', "replace")) == '[zz]\ns = """\nü\n"q""""\n'


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("A-z_0", "A-z_0"),
        ("sample@catalog", '"sample@catalog"'),
        ('we"ird.key', "'we\"ird.key'"),
        ("a'b\"c", '"a\'b\\"c"'),
        ("a\\b", "'a\\b'"),
        ("new\nline", '"new\\nline"'),
        ("", '""'),
        ("ü", '"ü"'),
        ("\x01", '"\\u0001"'),
    ],
)
def test_keys_needing_quotes_use_basic_strings_or_literal_strings_when_they_contain_a_quote(
    key: str, expected: str
) -> None:
    assert edit("", ("zz", {key: 1}, "replace")) == f"[zz]\n{expected} = 1\n"


def test_table_keys_needing_quotes_are_quoted_in_headers() -> None:
    assert edit("", ('projects."/home/alice/my.proj".trust_level', "trusted", "replace")) == (
        '[projects."/home/alice/my.proj"]\ntrust_level = "trusted"\n'
    )


# --------------------------------------------------------------------------------------------
# Where new things go


def test_new_key_goes_after_the_last_key_value_of_its_table() -> None:
    text = "[zz]\na = 1\n# trailing\n\n# more\n[tui]\nn = 1\n"
    assert edit(text, ("zz.k", 1, "replace")) == "[zz]\na = 1\nk = 1\n# trailing\n\n# more\n[tui]\nn = 1\n"


def test_new_key_in_a_table_without_key_values_goes_right_after_the_header() -> None:
    text = "[zz]\n# c\n\n[tui]\nn = 1\n"
    assert edit(text, ("zz.k", 1, "replace")) == "[zz]\nk = 1\n# c\n\n[tui]\nn = 1\n"


def test_new_root_key_goes_before_the_first_table_and_the_comments_above_it() -> None:
    text = "a = 1\n\n# about t\n[t]\nx = 1\n"
    assert edit(text, ("b", 2, "replace")) == "a = 1\nb = 2\n\n# about t\n[t]\nx = 1\n"
    assert edit("# hello\n\n[t]\nx = 1\n", ("b", 2, "replace")) == "b = 2\n# hello\n\n[t]\nx = 1\n"


def test_new_key_in_a_file_without_final_newline_gets_one() -> None:
    assert edit("a = 1", ("b", 2, "replace")) == "a = 1\nb = 2\n"


def test_new_table_goes_right_after_its_parents_block() -> None:
    text = "[a]\nx = 1\n\n[a.b]\ny = 1\n\n[c]\nz = 1\n"
    assert edit(text, ("a.d.e", 1, "replace")) == "[a]\nx = 1\n\n[a.b]\ny = 1\n\n[a.d]\ne = 1\n\n[c]\nz = 1\n"


def test_new_table_without_a_parent_goes_at_the_end_before_trailing_comments() -> None:
    assert edit("a = 1\n# end\n", ("t.c", 3, "replace")) == "a = 1\n\n[t]\nc = 3\n# end\n"
    assert edit("", ("t.b", 2, "replace")) == "[t]\nb = 2\n"


def test_nested_tables_in_a_value_become_headers_with_empty_intermediate_headers() -> None:
    assert edit("", ("zz.n", {"v": 1, "a": {"b": {"c": 1}}, "e": {}}, "replace")) == (
        "[zz.n]\nv = 1\n\n[zz.n.a]\n\n[zz.n.a.b]\nc = 1\n\n[zz.n.e]\n"
    )


def test_arrays_of_tables_in_a_value_become_inline_arrays_of_inline_tables() -> None:
    assert edit("", ("zz.arr", [{"x": 1}, {"y": 2}], "replace")) == "[zz]\narr = [{ x = 1 }, { y = 2 }]\n"


def test_keys_of_a_written_table_keep_their_order_with_values_before_subtables() -> None:
    assert edit("", ("zz", {"z": 1, "a": 2, "m": {"q": 1}, "b": {"x": 1}, "c": 3}, "replace")) == (
        "[zz]\nz = 1\na = 2\nc = 3\n\n[zz.m]\nq = 1\n\n[zz.b]\nx = 1\n"
    )


def test_dotted_keys_stay_dotted_when_a_sibling_is_added() -> None:
    assert edit("a.b = 1\nc = 2\n", ("a.c", 3, "replace")) == "a.b = 1\na.c = 3\nc = 2\n"
    assert edit("a.b = 1 # cm\nc = 2\n", ("a.b", 7, "replace")) == "a.b = 7 # cm\nc = 2\n"


def test_a_table_created_under_an_implicit_parent_shows_the_parent_header() -> None:
    text = "[zz.sub]\na = 1\n\n[tui]\nx = 1\n"
    assert edit(text, ("zz.k", 2, "replace")) == "[zz]\nk = 2\n[zz.sub]\na = 1\n\n[tui]\nx = 1\n"


def test_a_dotted_key_through_a_table_a_header_made_is_rendered_under_that_tables_header() -> None:
    # reference (live, codex 0.169.0): `b` got no header of its own but holds key lines, so a
    # rewrite shows `[a.b]` and the keys relative to it, with their comments and spacing
    text = "[a.b.c]\n[a]\n# c\n  b . y . x = 1 # t\nq = 3\nb.\"y\".z = 2\n"
    expected = "zz = 1\n[a.b.c]\n[a]\nq = 3\n\n[a.b]\n# c\n  y . x = 1 # t\ny .z = 2\n"
    assert edit(text, ("zz", 1, "replace")) == expected


def test_dotted_keys_are_rewritten_with_the_spelling_of_their_tables_first_mention() -> None:
    # reference (live): a dotted table's key part (and the spacing around it) is the one it was
    # first written with; the spacing after the last '.' is each line's own
    text = 'a . x = 1\n  "a".y = 2\n[t]\nk.p = 1\nk . q = 2\n'
    expected = "a . x = 1\n  a .y = 2\nzz = 1\n[t]\nk.p = 1\nk. q = 2\nk.r = 3\n"
    assert edit(text, ("zz", 1, "replace"), ("t.k.r", 3, "replace")) == expected


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("[a.b.c]\n[a]\nb.x = 1\n", 3, 3),
        ("[a.b.c]\n[a]\n  b . x = 1\n", 3, 7),
        ("[x]\n[a.b.c]\n[a]\nq = 1\nb.x = 1\n", 5, 3),
        ('[a."é".c]\n[a]\n"é".x = 1\n', 3, 5),  # columns count characters
    ],
)
def test_a_dotted_key_ending_in_a_table_a_header_made_is_the_references_duplicate_key(
    text: str, line: int, column: int
) -> None:
    # tomllib reads these; the reference refuses the file: "<path>:<line>:<column>: duplicate key"
    tomllib.loads(text)
    with pytest.raises(tomlengine.DuplicateKeyError) as excinfo:
        edit(text, ("zz", 1, "replace"))
    error = excinfo.value
    assert (error.line, error.column, str(error)) == (line, column, f"{line}:{column}: duplicate key")


def test_a_header_written_above_the_dotted_keys_of_its_table_makes_a_file_the_reference_refuses() -> None:
    # reference (live): the write answers ok with these bytes, and every later load of the file
    # fails with "<path>:10:3: duplicate key"; no settled model is kept for such a text
    text = "# top\n\n# about t0.inner\n[t0.inner]\n\n# about t0\n[t0]\nd.e = 1\n\n# about t1\n[t1]\n"
    doc = EditDocument(text)
    doc.edit(["t0", "d", "a"], {}, "replace")
    assert doc.text() == (
        "# top\n\n# about t0.inner\n[t0.inner]\n\n[t0.d.a]\n\n# about t0\n[t0]\nd.e = 1\n\n# about t1\n[t1]\n"
    )
    error = doc.reload_error()
    assert error is not None
    assert str(error) == "10:3: duplicate key"
    assert doc.settled_model() is None


def test_a_header_written_below_the_dotted_keys_of_its_table_reads_back() -> None:
    doc = EditDocument("[t0]\nd.e = 1\n")
    doc.edit(["t0", "d", "a"], {}, "replace")
    assert doc.text() == "[t0]\nd.e = 1\n\n[t0.d.a]\n"
    assert doc.reload_error() is None
    assert edit(doc.text(), ("t0.d.f", 2, "replace")) == "[t0]\nd.e = 1\nd.f = 2\n\n[t0.d.a]\n"


# --------------------------------------------------------------------------------------------
# Merge strategies


def test_upsert_deep_merges_and_keeps_comments_of_existing_keys() -> None:
    text = "[features]\n# inside\nmemories = true   # keep me\n"
    assert edit(text, ("features", {"memories": False, "apps": True}, "upsert")) == (
        "[features]\n# inside\nmemories = false   # keep me\napps = true\n"
    )


def test_upsert_rerenders_the_values_of_the_merged_table_canonically() -> None:
    text = "[zz]\n# c\nn = 0x10  # hex\nq = 'lit'\n"
    assert edit(text, ("zz", {"r": 1}, "upsert")) == '[zz]\n# c\nn = 16  # hex\nq = "lit"\nr = 1\n'


def test_replace_drops_keys_absent_from_the_new_table() -> None:
    text = '[mcp_servers.foo]\ncommand = "echo"\nargs = ["a"]\n\n[mcp_servers.foo.env]\nB = "2"\n'
    assert edit(text, ("mcp_servers.foo", {"command": "cat"}, "replace")) == (
        '[mcp_servers.foo]\ncommand = "cat"\n'
    )


def test_a_scalar_parent_with_further_parents_is_replaced_by_a_table() -> None:
    assert edit('x = "s"\nw = 1\n\n[u]\ny = 1\n', ("x.y.z", 1, "replace")) == (
        "w = 1\n\n[x.y]\nz = 1\n\n[u]\ny = 1\n"
    )


def test_a_table_replaced_by_a_scalar_becomes_a_root_key_at_the_tables_place() -> None:
    # the reference prints `t= "scalar"` here (a cosmetic quirk, spec §5.8); the spec's rule wins
    assert edit("z = 0\n\n[t]\nx = 1\n\n[u]\ny = 1\n", ("t", "scalar", "replace")) == (
        'z = 0\nt = "scalar"\n\n[u]\ny = 1\n'
    )


def test_upserting_into_an_inline_table_turns_it_into_a_standard_table() -> None:
    # the reference prints the header as `[foo ]` (same quirk family); the spec's rule wins
    assert edit("foo = { a = 1 }\nbar = 2\n\n[u]\ny = 1\n", ("foo.b", 2, "replace")) == (
        "bar = 2\n\n[foo]\na = 1\nb = 2\n\n[u]\ny = 1\n"
    )


# --------------------------------------------------------------------------------------------
# Removing


def test_removing_a_key_drops_the_comment_lines_above_it() -> None:
    assert edit("a = 1\n\n# about b\nb = 2\nc = 3\n", ("b", None, "replace")) == "a = 1\nc = 3\n"


def test_removing_the_last_key_keeps_the_empty_table_header() -> None:
    assert edit("[tui]\nnotifications = true\n\n[zz]\na = 1\n", ("tui.notifications", None, "upsert")) == (
        "[tui]\n\n[zz]\na = 1\n"
    )


def test_removing_a_table_drops_its_header_comments_keys_and_subtables() -> None:
    text = "a = 1\n\n# about t\n[t]\nx = 1\n\n# about t.s\n[t.s]\ny = 2\n\n# about u\n[u]\nz = 3\n"
    assert edit(text, ("t", None, "replace")) == "a = 1\n\n# about u\n[u]\nz = 3\n"


def test_removing_an_array_of_tables_drops_all_its_elements() -> None:
    text = "w = 0\n\n# about x\n[[x]]\na = 1\n\n[[x]]\na = 2\n\n[u]\ny = 1\n"
    assert edit(text, ("x", None, "replace")) == "w = 0\n\n[u]\ny = 1\n"


def test_removing_a_missing_key_or_a_key_under_a_missing_parent_is_a_no_op() -> None:
    text = "a = 1 # keep\n"
    doc = EditDocument(text)
    doc.edit(["missing"], None, "replace")
    doc.edit(["a", "b"], None, "replace")
    doc.edit(["x", "y", "z"], None, "upsert")
    assert doc.text() == text


def test_removing_a_key_from_an_inline_table_turns_it_into_a_standard_table() -> None:
    assert (
        edit("foo = { a = 1, b = 2 }\nbar = 2\n", ("foo.a", None, "replace")) == "bar = 2\n\n[foo]\nb = 2\n"
    )


def test_crlf_files_are_rewritten_with_lf_line_ends() -> None:
    text = "a = 1 # c1\r\n\r\n# c\r\n[zz]\r\nx = 1\r\n# tail\r\n"
    assert edit(text, ("zz.y", 2, "replace")) == "a = 1 # c1\n\n# c\n[zz]\nx = 1\ny = 2\n# tail\n"


# --------------------------------------------------------------------------------------------
# Errors


def test_null_inside_a_value_is_refused() -> None:
    for value in ([1, None], {"a": None}, {"a": [{"b": None}]}):
        with pytest.raises(EditError) as excinfo:
            edit("", ("zz.x", value, "replace"))
        assert str(excinfo.value) == "invalid value: invalid type: null, expected any valid TOML value"


def test_integers_above_i64_are_refused_as_u64_too_large() -> None:
    for value in (2**63, 2**64 - 1, [1, 2**63]):
        with pytest.raises(EditError) as excinfo:
            edit("", ("zz.x", value, "replace"))
        assert str(excinfo.value) == "invalid value: u64 value was too large"


def test_integers_beyond_u64_or_below_i64_are_request_decoding_errors() -> None:
    with pytest.raises(ValueRangeError) as excinfo:
        edit("", ("zz.x", 2**64, "replace"))
    assert str(excinfo.value) == "invalid type: integer `18446744073709551616` as u128, expected any value"
    with pytest.raises(ValueRangeError) as excinfo:
        edit("", ("zz.x", -(2**63) - 1, "replace"))
    assert str(excinfo.value) == "invalid type: integer `-9223372036854775809` as i128, expected any value"


def test_value_errors_come_before_parent_errors() -> None:
    with pytest.raises(EditError, match="null"):
        edit("x = 1\n", ("x.y", [None], "replace"))


def test_setting_under_a_non_table_parent_is_refused() -> None:
    for text, key_path in (('model = "x"\n', "model.sub"), ('args = ["a"]\n', "args.0")):
        with pytest.raises(EditError) as excinfo:
            edit(text, (key_path, 1, "replace"))
        assert str(excinfo.value) == "cannot set value on non-table parent"


def test_a_table_created_and_emptied_in_one_batch_is_not_written() -> None:
    # reference (live, codex 0.169.0): batch [new.a = 0, clear new.a] on "keep = 0" leaves the file
    # as it was; the reply's version is that of {"keep": 0, "new": {}} (its document's data)
    doc = EditDocument("keep = 0\n")
    doc.edit(["new", "a"], 0, "replace")
    doc.edit(["new", "a"], None, "replace")
    assert doc.text() == "keep = 0\n"
    assert doc.plain == {"keep": 0, "new": {}}
    assert edit_each("keep = 0\n", [("new.a", 0, "replace"), ("new.a", None, "replace")]) == "keep = 0\n\n[new]\n"


def test_later_edits_of_a_batch_see_earlier_ones() -> None:
    assert edit("", ("x.y", 1, "replace"), ("x", "s", "replace")) == 'x = "s"\n'
    with pytest.raises(EditError, match="non-table parent"):
        edit("", ("x", "s", "replace"), ("x.y", 1, "replace"))


def test_a_path_through_an_array_of_tables_is_silently_not_written() -> None:
    # reference: status ok, file unchanged (its document editor skips array-of-tables parents)
    text = "[[x]]\na = 1\n\n[[x]]\na = 2\n"
    assert edit(text, ("x.y.z", 1, "replace")) == text
    with pytest.raises(EditError, match="non-table parent"):
        edit(text, ("x.y", 1, "replace"))


def test_empty_segment_list_is_refused() -> None:
    with pytest.raises(EditError, match="keyPath must not be empty"):
        EditDocument().edit([], 1, "replace")


# --------------------------------------------------------------------------------------------
# Property: untouched lines survive, and the data equals a dict model of the same edits

_KEYS = st.sampled_from(["a", "b", "c", "d", "x-y", "q r", "ü"])
_TABLES = st.sampled_from(["t0", "t1", "t2", "sub.t3"])
_SCALARS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.text(max_size=8),
)


def _typed(value: Any) -> Any:
    """A comparable image that tells int, float and bool apart (and -0.0 from 0.0)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    if isinstance(value, float):
        return ("float", value, math.copysign(1.0, value))
    return (type(value).__name__, value)


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[str]]:
    """A file with comments and tables; returns (text, plain data, lines that must survive)."""
    lines: list[str] = ["# leading comment"]
    model: dict[str, Any] = {}
    kept: list[str] = ["# leading comment"]

    def body(target: dict[str, Any], scope: str) -> None:
        # "keep" is never edited: its comment line above and its own line must survive every edit
        value = draw(_SCALARS)
        comment, kv = f"# about {scope}.keep", f"keep = {tomlkit.item(value).as_string()}  # keep"
        lines.extend([comment, kv])
        kept.extend([comment, kv])
        target["keep"] = value
        for key in draw(st.lists(_KEYS, unique=True, max_size=4)):
            value = draw(_SCALARS)
            kv = f"{tomlkit.key(key).as_string()} = {tomlkit.item(value).as_string()}"
            lines.append(kv)
            kept.append(kv)
            target[key] = value

    body(model, "root")
    for name in draw(st.lists(_TABLES, unique=True, max_size=4)):
        header_comment = f"# table {name}"
        lines += ["", header_comment, f"[{name}]"]
        kept += [header_comment, f"[{name}]"]
        target = model
        for part in name.split("."):
            target = target.setdefault(part, {})
        body(target, name)
    return "\n".join(lines) + "\n", model, kept


_EDITS = st.lists(
    st.tuples(st.one_of(st.none(), _TABLES, st.just("new")), _KEYS, st.one_of(st.none(), _SCALARS)),
    max_size=8,
)


def _without_emptied_tables(data: dict[str, Any], headers: set[str], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            value = _without_emptied_tables(value, headers, path + ".")
            if not value and path not in headers:
                continue
        out[key] = value
    return out


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_documents(), _EDITS)
def test_untouched_lines_survive_and_data_matches_a_dict_model(
    document: tuple[str, dict[str, Any], list[str]], edits: list[tuple[str | None, str, Any]]
) -> None:
    text, model, kept = document
    doc = EditDocument(text)
    touched: set[str] = set()
    for table, key, value in edits:
        path = [*(table.split(".") if table else []), key]
        doc.edit(path, value, "replace")
        parent: dict[str, Any] | None = model
        for part in path[:-1]:
            if value is None:  # clearing never creates parents
                parent = None if parent is None else parent.get(part)
            else:
                assert parent is not None
                parent = parent.setdefault(part, {})
        if parent is not None and value is None:
            parent.pop(key, None)
        elif parent is not None:
            parent[key] = value
        touched.add(f"{tomlkit.key(key).as_string()} = ")
    out = doc.text()
    assert _typed(doc.plain) == _typed(model)
    # the text shows the same data, except tables that the edits created and then emptied again
    # (implicit tables with nothing in them are not rendered - the reference's too)
    headers = {line[1:-1] for line in text.split("\n") if line.startswith("[")}
    assert _typed(tomllib.loads(out)) == _typed(_without_emptied_tables(model, headers))
    survivors = iter(out.split("\n"))
    for line in kept:
        if any(line.startswith(prefix) for prefix in touched):
            continue
        assert any(candidate == line for candidate in survivors), f"lost or reordered: {line!r}"


# --------------------------------------------------------------------------------------------
# Live comparison with the reference server

REPLAYS: Final[list[tuple[str, list[list[Edit]]]]] = [
    (SPEC_15_4_START, [[one] for one in SPEC_15_4_EDITS]),
    (
        "a = 1\n\n# about b\nb = 2\nc = 3\n\n# about t\n[t]\nx = 1\n\n[t.s]\ny = 2\n",
        [
            [("b", None, "replace")],
            [("t", None, "replace"), ("zz.k", "v", "replace")],
        ],
    ),
    ('x = "s"\nw = 1\n\n[u]\ny = 1\n', [[("x.y.z", 1, "replace")], [("u", {"q": [1.5, "a\nb"]}, "upsert")]]),
    (
        "[zz]\n# c\n\n[tui]\nn = 1\n",
        [
            [("zz.k", 1, "replace"), ("zz.s", 'a"b\\c', "replace")],
            [("zz", {'we"ird': {"n": {}}, "m": [{"x": 1}]}, "upsert")],
            [("a.b", 1, "replace"), ("a.c", 2, "replace")],
        ],
    ),
    (  # hypothesis: the first write puts [t0.d.a] above `d.e = 1`; the second load is refused
        "# top\n\n# about t0.inner\n[t0.inner]\n\n# about t0\n[t0]\nd.e = 1\n\n# about t1\n[t1]\n\n"
        "# about sub.t3\n[sub.t3]\n",
        [[("t0.d.a", {}, "replace")], [("t0.a", 0, "replace")]],
    ),
    (
        "[a.b.c]\n[a]\n# c\n  b . y . x = 1 # t\nq = 3\nb.\"y\".z = 2\n",
        [[("zz", 1, "replace")], [("a.b.y.w", 2, "replace"), ("a.q", 4, "replace")]],
    ),
    ("[a.b.c]\n[a]\nb.x = 1\n", [[("zz", 1, "replace")]]),
    (  # hypothesis: [t0.d.a] lands above `d.g.h = 3`; read back, `t0.d` is that header's table
        "# top\n\n# about t1\n[t1]\n\n# about t0.inner\n[t0.inner]\n\n# about t0\n[t0]\n  d.g.h = 3\n",
        [[("t0.d.a", {}, "replace")], [("t0.a", 0, "replace")]],
    ),
    ('a . x = 1\n  "a".y = 2\n[t]\nk.p = 1\nk . q = 2\n', [[("zz", 1, "replace"), ("t.k.r", 3, "replace")]]),
]


def _wire_edits(batch: list[Edit]) -> list[dict[str, Any]]:
    return [{"keyPath": k, "value": v, "mergeStrategy": s} for k, v, s in batch]


@pytest.mark.parametrize(("start", "batches"), REPLAYS)
def test_edit_sequences_match_the_reference_server_bytes(
    tmp_path: Path, start: str, batches: list[list[Edit]], reference: Any
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(start)
    with reference(tmp_path) as ref:
        replies = [ref.request("config/batchWrite", {"edits": _wire_edits(batch)}) for batch in batches]
    ours = start
    for batch, reply in zip(batches, replies, strict=True):
        try:
            ours = edit(ours, *batch)
        except tomlengine.DuplicateKeyError as exc:  # the reference refuses to load this file
            assert reply["error"]["message"] == f"failed to load configuration: {config}:{exc}"
        else:
            assert reply["result"]["status"] == "ok"
    assert config.read_text() == ours


def test_quote_segment_paths_reach_the_same_keys_as_segment_lists() -> None:
    segments = ["zz", "a.b", 'we"ird']
    by_path = edit("", (".".join(quote_segment(s) for s in segments), 1, "replace"))
    doc = EditDocument()
    doc.edit(segments, 1, "replace")
    assert by_path == doc.text() == '[zz."a.b"]\n\'we"ird\' = 1\n'
