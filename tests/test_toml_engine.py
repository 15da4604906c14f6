"""The TOML engine's document model: lossless, and a settled model behaves as a fresh parse.

A write keeps the model it edited, settled (:meth:`Document.settle`), and the next request on the
same file edits that instead of scanning the text again. These properties check that no sequence
of edits can tell the two apart: the settled model renders the same text, and any further edits
give the same bytes as on a fresh parse of that text.
"""

from __future__ import annotations

import contextlib
from typing import Any

import tomlkit  # test-only: an independent TOML writer for the generated files
from chamberlain import tomlengine
from chamberlain.store.toml_edit import EditDocument, EditError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

_KEYS = st.sampled_from(["a", "b", "c", "x-y", "q r"])
_PATHS = st.sampled_from(["t0", "t1", "sub.t3", "sub", "new", "new.deep", "t0.inner", "", "t0.d", "t1.d", "d"])
_SCALARS = st.one_of(st.integers(min_value=-5, max_value=5), st.booleans(), st.text(max_size=4))
_VALUES = st.one_of(
    st.none(),
    _SCALARS,
    st.dictionaries(_KEYS, st.one_of(_SCALARS, st.dictionaries(_KEYS, _SCALARS, max_size=2)), max_size=3),
)
_BATCH = st.lists(st.tuples(_PATHS, _KEYS, _VALUES, st.sampled_from(["replace", "upsert"])), max_size=5)


@st.composite
def _files(draw: st.DrawFn, *, respelled: bool = False) -> str:
    """Generated config files; ``respelled``: dotted keys may spell a dotted table otherwise than
    its first mention (a rewrite shows the first spelling, as the reference's)."""
    lines = ["# top"]
    for key in draw(st.lists(_KEYS, unique=True, max_size=3)):
        lines.append(f"{tomlkit.key(key).as_string()} = {tomlkit.item(draw(_SCALARS)).as_string()}  # c")
    for name in draw(st.lists(st.sampled_from(["t0", "t1", "sub.t3", "t0.inner", "arr"]), unique=True, max_size=4)):
        lines += ["", f"# about {name}", f"[[{name}]]" if name == "arr" else f"[{name}]"]
        for key in draw(st.lists(_KEYS, unique=True, max_size=2)):
            lines.append(f"{tomlkit.key(key).as_string()} = {tomlkit.item(draw(_SCALARS)).as_string()}")
        if draw(st.booleans()):
            lines.append("d.e = 1")
        if respelled:
            respellings = st.sampled_from(['"d" . f = 2', "  d.g.h = 3", "k . x = 4"])
            lines += draw(st.lists(respellings, unique=True, max_size=2))
    return "\n".join(lines) + "\n"


def _apply(doc: EditDocument, batch: list[tuple[str, str, Any, str]]) -> None:
    for table, key, value, strategy in batch:
        # refused edits leave the document as it was, in both runs
        with contextlib.suppress(EditError):
            doc.edit([*(table.split(".") if table else []), key], value, strategy)  # type: ignore[arg-type]


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_files(respelled=True), _BATCH, _BATCH)
@example(  # a header put above the dotted keys of its table: the reference cannot read that back
    text="# top\n\n# about t0.inner\n[t0.inner]\n\n# about t0\n[t0]\nd.e = 1\n\n# about t1\n[t1]\n\n"
    "# about sub.t3\n[sub.t3]\n",
    first=[("t0.d", "a", {}, "replace")],
    second=[("t0", "a", 0, "replace")],
)
@example(  # a new root line sits before the tables in a parse: a table put there later shows first
    text="# top\n\n# about t0\n[t0]\n",
    first=[("", "q r", 0, "replace")],
    second=[("", "q r", {}, "replace")],
)
@example(  # [t0.d.a] lands above `d.g.h = 3`: read back, t0.d is that header's table, not dotted
    text="# top\n\n# about t1\n[t1]\n\n# about t0.inner\n[t0.inner]\n\n# about t0\n[t0]\n  d.g.h = 3\n",
    first=[("t0.d", "a", {}, "replace")],
    second=[("t0", "a", 0, "replace")],
)
def test_a_settled_model_takes_further_edits_exactly_as_a_fresh_parse_does(
    text: str, first: list[tuple[str, str, Any, str]], second: list[tuple[str, str, Any, str]]
) -> None:
    doc = EditDocument(text)
    _apply(doc, first)
    written = doc.text()
    settled = doc.settled_model()
    if settled is None:
        # nothing was edited, or a header sits in a table of dotted keys (a parse may read that
        # text otherwise or refuse it: the next request parses it)
        return
    assert settled.render() == written
    reused, fresh = EditDocument(written, model=settled), EditDocument(written)
    _apply(reused, second)
    _apply(fresh, second)
    assert reused.text() == fresh.text()


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(_files())
def test_an_unedited_document_renders_its_text_byte_for_byte(text: str) -> None:
    assert tomlengine.parse(text).render() == text


def test_settling_keeps_a_dotted_tables_lines_before_its_subtables_as_a_parse_does() -> None:
    # the reference writes `d.e = 1` then `d.a= 0` here (its spacing quirk of a table replaced by
    # a scalar aside): a dotted table's lines are where its holder's header is
    settled = tomlengine.parse("[t0]\nd.e = 1\n")
    settled.set_path(["t0", "d", "a"], tomlengine.Table())
    written = settled.render()
    settled.settle()
    fresh = tomlengine.parse(written)
    for model in (settled, fresh):
        model.set_path(["t0", "d", "a"], tomlengine.item_from_plain(0))
    assert settled.render() == fresh.render() == "[t0]\nd.e = 1\nd.a = 0\n"
