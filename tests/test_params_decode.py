"""Params decoding gives the reference's texts for odd numbers, positional params, duplicate
members and deep nesting, and never raises anything but ``ParamsError``.

Every expected text below was read from codex-cli 0.169.0 (``codex app-server`` on stdio, after
``initialize``/``initialized``), frame by frame; the wire tests check the ``Invalid request: ``
replies end to end, the rest call the decoder the connection uses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from chamberlain.actors.routes import ROUTES
from chamberlain.protocol import messages as m
from chamberlain.protocol.codec import Request, classify
from chamberlain.protocol.decode import ParamsError, decode_params, decode_unit_params, too_deep
from chamberlain.protocol.jsonvalue import NUMBER_KEY, parse_float
from chamberlain.serde_text import rust_float, rust_float_display
from hypothesis import given, settings
from hypothesis import strategies as st

NINES = "9" * 5000
U128 = "invalid type: integer `18446744073709551616` as u128, expected any value"


def _error(raw: str | bytes, tp: Any) -> str:
    with pytest.raises(ParamsError) as info:
        decode_params(raw.encode() if isinstance(raw, str) else raw, tp)
    return str(info.value)


@pytest.mark.parametrize(
    ("params", "tp", "text"),
    [
        ('{"cursor":' + NINES + "}", m.ExperimentalFeatureListParams, "invalid type: map, expected a string"),
        ('{"limit":18446744073709551616}', m.ExperimentalFeatureListParams, U128),
        ('{"limit":9223372036854775808}', m.ExperimentalFeatureListParams,
         "invalid value: integer `9223372036854775808`, expected u32"),
        ('{"limit":-18446744073709551616}', m.ExperimentalFeatureListParams,
         "invalid type: integer `-18446744073709551616` as i128, expected any value"),
        ('{"limit":-9223372036854775809}', m.ExperimentalFeatureListParams,
         "invalid type: integer `-9223372036854775809` as i128, expected any value"),
        ('{"limit":-1}', m.ExperimentalFeatureListParams, "invalid value: integer `-1`, expected u32"),
        ('{"limit":1.5}', m.ExperimentalFeatureListParams, "invalid type: floating point `1.5`, expected u32"),
        ('{"limit":1e400}', m.ExperimentalFeatureListParams, "invalid type: map, expected u32"),
        ('{"includeLayers":1e400}', m.ConfigReadParams, "invalid type: map, expected a boolean"),
        ('{"includeLayers":-1e400}', m.ConfigReadParams, "invalid type: map, expected a boolean"),
        ('{"includeLayers":1e-400}', m.ConfigReadParams, "invalid type: map, expected a boolean"),
        ('{"includeLayers":' + NINES + "}", m.ConfigReadParams, "invalid type: map, expected a boolean"),
        ('{"includeLayers":-' + NINES + ".5}", m.ConfigReadParams, "invalid type: map, expected a boolean"),
        ('{"includeLayers":18446744073709551616}', m.ConfigReadParams, U128),
        ('{"cwd":18446744073709551616}', m.ConfigReadParams, U128),
        ('{"foo":18446744073709551616}', m.ConfigReadParams, U128),
        ('{"foo":340282366920938463463374607431768211455}', m.ConfigReadParams,
         "invalid type: integer `340282366920938463463374607431768211455` as u128, expected any value"),
        ('{"foo":-170141183460469231731687303715884105728}', m.ConfigReadParams,
         "invalid type: integer `-170141183460469231731687303715884105728` as i128, expected any value"),
        ('{"includeLayers":-170141183460469231731687303715884105729}', m.ConfigReadParams,
         "invalid type: map, expected a boolean"),
        ('{"includeLayers":1,"foo":18446744073709551616}', m.ConfigReadParams, U128),
        ('{"includeLayers":1,"foo":-18446744073709551616,"bar":18446744073709551616}', m.ConfigReadParams,
         "invalid type: integer `-18446744073709551616` as i128, expected any value"),
        ('{"keyPath":"x.big","value":18446744073709551616,"mergeStrategy":"replace"}',
         m.ConfigValueWriteParams, U128),
    ],
)
def test_numbers_beyond_64_bits_or_float_range_get_the_reference_text(params: str, tp: Any, text: str) -> None:
    assert _error(params, tp) == text


@pytest.mark.parametrize(
    ("literal", "shown"),
    [
        ("1e308", "floating point `1e+308`"),
        ("1e-320", "floating point `1e-320`"),
        ("-0.0", "floating point `-0.0`"),
        ("0.0", "floating point `0.0`"),
        ("1e20", "floating point `1e+20`"),
        ("1e+16", "floating point `1e+16`"),
        ("-1e16", "floating point `-1e+16`"),
        ("1000000000000000.0", "floating point `1000000000000000.0`"),
        ("0.00001", "floating point `0.00001`"),
        ("0.000001", "floating point `1e-6`"),
        ("0.0000001", "floating point `1e-7`"),
        ("-1.5e-7", "floating point `-1.5e-7`"),
        ("5e-324", "floating point `5e-324`"),
        ("1.7976931348623157e308", "floating point `1.7976931348623157e+308`"),
        ("123456789.125", "floating point `123456789.125`"),
        ("1E2", "map"),
        ("1e0", "map"),
        ("1.50", "map"),
        ("1e15", "map"),
        ("1e-5", "map"),
        ("3.0e-10", "map"),
        ("0e-999", "map"),
        ("10000000000000000.0", "map"),
        ("100000000000000000000.0", "map"),
        ("0.1000000000000000000000000000001", "map"),
        ("1.2345678901234567e16", "map"),
    ],
)
def test_a_float_is_a_float_only_when_its_text_is_the_shortest_one(literal: str, shown: str) -> None:
    text = _error('{"includeLayers":' + literal + "}", m.ConfigReadParams)
    assert text == f"invalid type: {shown}, expected a boolean"


@pytest.mark.parametrize(
    ("literal", "table"),
    [
        ("1e999", "1e+999"),
        ("1e-400", "1e-400"),
        ("1E2", "1e+2"),
        ("9" * 50, "9" * 50),
        (NINES, NINES),
    ],
)
def test_a_free_value_beyond_float_range_reads_as_the_reference_number_table(literal: str, table: str) -> None:
    raw = '{"keyPath":"x.y","value":' + literal + ',"mergeStrategy":"replace"}'
    params = decode_params(raw.encode(), m.ConfigValueWriteParams)
    assert params.value == {"$serde_json::private::Number": table}


def test_free_values_keep_exact_floats_and_64_bit_integers() -> None:
    raw = b'{"keyPath":"x","value":[1.5,0.1,-0.0,18446744073709551615,-9223372036854775808],"mergeStrategy":"replace"}'
    assert decode_params(raw, m.ConfigValueWriteParams).value == [1.5, 0.1, -0.0, 2**64 - 1, -(2**63)]


@pytest.mark.parametrize(
    ("params", "tp", "text"),
    [
        ("[]", m.ConfigReadParams, "invalid length 1, expected struct ConfigReadParams with 2 elements"),
        ("[true]", m.ConfigReadParams, "invalid length 1, expected struct ConfigReadParams with 2 elements"),
        ("[true,null,1]", m.ConfigReadParams, "invalid length 3, expected 2 elements in sequence"),
        ("[1,2,3]", m.ConfigReadParams, "invalid type: integer `1`, expected a boolean"),
        ("[1]", m.ConfigReadParams, "invalid type: integer `1`, expected a boolean"),
        ("[true, 5]", m.ConfigReadParams, "invalid type: integer `5`, expected a string"),
        ("[]", m.ConfigValueWriteParams, "invalid length 0, expected struct ConfigValueWriteParams with 5 elements"),
        ('["a"]', m.ConfigValueWriteParams,
         "invalid length 1, expected struct ConfigValueWriteParams with 5 elements"),
        ('["a",1]', m.ConfigValueWriteParams,
         "invalid length 2, expected struct ConfigValueWriteParams with 5 elements"),
        ('["a",1,"replace"]', m.ConfigValueWriteParams,
         "invalid length 3, expected struct ConfigValueWriteParams with 5 elements"),
        ("[]", m.ConfigBatchWriteParams, "invalid length 0, expected struct ConfigBatchWriteParams with 4 elements"),
        ("[[]]", m.ConfigBatchWriteParams,
         "invalid length 1, expected struct ConfigBatchWriteParams with 4 elements"),
        ("[[],null]", m.ConfigBatchWriteParams,
         "invalid length 2, expected struct ConfigBatchWriteParams with 4 elements"),
        ("[]", m.InitializeParams, "invalid length 0, expected struct InitializeParams with 2 elements"),
        ('[{"name":"a","version":"b"}]', m.InitializeParams,
         "invalid length 1, expected struct InitializeParams with 2 elements"),
        ("[]", m.ExperimentalFeatureListParams,
         "invalid length 0, expected struct ExperimentalFeatureListParams with 3 elements"),
        ("[null,null]", m.ExperimentalFeatureListParams,
         "invalid length 2, expected struct ExperimentalFeatureListParams with 3 elements"),
        ("[]", m.ExperimentalFeatureEnablementSetParams,
         "invalid length 0, expected struct ExperimentalFeatureEnablementSetParams with 1 element"),
        ("[]", m.MockExperimentalMethodParams,
         "invalid length 0, expected struct MockExperimentalMethodParams with 1 element"),
    ],
)
def test_positional_params_get_the_reference_length_texts(params: str, tp: Any, text: str) -> None:
    assert _error(params, tp) == text


def test_positional_params_that_fill_every_field_without_a_default_decode() -> None:
    assert decode_params(b"[true,null]", m.ConfigReadParams) == m.ConfigReadParams(include_layers=True)
    assert decode_params(b"[[],null,null]", m.ConfigBatchWriteParams) == m.ConfigBatchWriteParams(edits=[])
    assert decode_params(b'{"edits":[["x.y",1,"replace"]]}', m.ConfigBatchWriteParams).edits == [
        m.ConfigEdit(key_path="x.y", value=1, merge_strategy="replace")
    ]


@pytest.mark.parametrize("params", ["[]", "[1]", "[" * 100 + "]" * 100])
def test_unit_params_refuse_a_sequence(params: str) -> None:
    with pytest.raises(ParamsError, match=r"^invalid type: sequence, expected unit$"):
        decode_unit_params(params.encode())


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ('{"a":18446744073709551616}', U128),
        ("18446744073709551616", U128),
        ('{"a":1e400}', "invalid type: map, expected unit"),
        ("1e400", "invalid type: map, expected unit"),
    ],
)
def test_unit_params_read_numbers_as_the_reference(params: str, text: str) -> None:
    with pytest.raises(ParamsError) as info:
        decode_unit_params(params.encode())
    assert str(info.value) == text


@pytest.mark.parametrize(("strategy", "text"), [
    ('{"replace":null}', None),
    ('{"upsert":{}}', None),
    ('{"replace":1}', "invalid type: integer `1`, expected unit"),
    ('{"replace":[]}', "invalid type: sequence, expected unit"),
    ('{"bogus":null}', "unknown variant `bogus`, expected `replace` or `upsert`"),
    ('{"replace":1,"upsert":2}', "invalid value: map, expected map with a single key"),
])
def test_a_unit_variant_in_map_form_carries_null_or_an_empty_map(strategy: str, text: str | None) -> None:
    raw = '{"keyPath":"x.q","value":1,"mergeStrategy":' + strategy + "}"
    if text is None:
        assert decode_params(raw.encode(), m.ConfigValueWriteParams).merge_strategy == json.loads(strategy).popitem()[0]
    else:
        assert _error(raw, m.ConfigValueWriteParams) == text


def test_duplicate_members_are_accepted_and_the_last_one_wins() -> None:
    assert decode_params(b'{"cwd":"a","cwd":"b"}', m.ConfigReadParams).cwd == "b"
    assert decode_params(b'{"includeLayers":1,"includeLayers":true}', m.ConfigReadParams).include_layers
    assert _error('{"includeLayers":true,"includeLayers":1}', m.ConfigReadParams) == (
        "invalid type: integer `1`, expected a boolean"
    )
    raw = b'{"keyPath":"x.dup","keyPath":"x.dup2","value":1,"mergeStrategy":"replace"}'
    assert decode_params(raw, m.ConfigValueWriteParams).key_path == "x.dup2"
    raw = b'{"enablement":{"a":true,"a":false}}'
    assert decode_params(raw, m.ExperimentalFeatureEnablementSetParams).enablement == {"a": False}


@pytest.mark.parametrize(
    ("params", "tp", "text"),
    [
        ('{"includeLayers":1,"cwd":2}', m.ConfigReadParams, "invalid type: integer `1`, expected a boolean"),
        ('{"cwd":2,"includeLayers":1}', m.ConfigReadParams, "invalid type: integer `2`, expected a string"),
        ('{"value":1,"mergeStrategy":"x","keyPath":5}', m.ConfigValueWriteParams,
         "unknown variant `x`, expected `replace` or `upsert`"),
        ('{"mergeStrategy":"replace","keyPath":"a"}', m.ConfigValueWriteParams, "missing field `value`"),
        ('{"keyPath":"a"}', m.ConfigValueWriteParams, "missing field `value`"),
        ('{"enablement":{"b":1,"a":"x"}}', m.ExperimentalFeatureEnablementSetParams,
         "invalid type: integer `1`, expected a boolean"),
        ('{"threadId":1,"limit":1.5}', m.ExperimentalFeatureListParams,
         "invalid type: integer `1`, expected a string"),
        ('{"clientInfo":{"version":1,"name":2}}', m.InitializeParams, "invalid type: integer `1`, expected a string"),
    ],
)
def test_the_first_error_is_the_first_member_in_document_order(params: str, tp: Any, text: str) -> None:
    assert _error(params, tp) == text


def test_valid_deep_values_decode() -> None:
    nested = json.dumps(json.loads("".join(f'{{"k{i}":' for i in range(100)) + "1" + "}" * 100))
    raw = '{"keyPath":"desktop.deep","value":' + nested + ',"mergeStrategy":"replace"}'
    assert decode_params(raw.encode(), m.ConfigValueWriteParams).value["k0"]["k1"]["k2"]
    raw = '{"keyPath":"desktop.arr","value":[[true]],"mergeStrategy":"replace"}'
    assert decode_params(raw.encode(), m.ConfigValueWriteParams).value == [[True]]
    key_path = ".".join(["a"] * 1000)
    raw = '{"keyPath":"' + key_path + '","value":1,"mergeStrategy":"replace"}'
    assert decode_params(raw.encode(), m.ConfigValueWriteParams).key_path == key_path


def test_frames_nested_128_deep_are_too_deep_and_127_are_not() -> None:
    # The reference answers `{"params":{"foo":[x125]}}` (127 levels) and drops 128 levels unanswered.
    ok = '{"id":1,"method":"config/read","params":{"foo":' + "[" * 125 + "]" * 125 + "}}"
    assert not too_deep(ok.encode())
    assert too_deep(('{"id":"odd-1","method":"config/read","params":{"foo":' + "[" * 126 + "]" * 126 + "}}").encode())
    assert not too_deep(('{"a":"' + "[" * 300 + '"}').encode())
    with pytest.raises(ParamsError):
        decode_params(b'{"value":' + b"[" * 1000 + b"]" * 1000 + b"}", m.ConfigValueWriteParams)


# --- fuzz: anything classify() accepts raises ParamsError or decodes ----------------------------------

_NUMBERS = st.one_of(
    st.integers(min_value=-(2**140), max_value=2**140).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
)
_SCALARS = st.one_of(
    st.sampled_from(["null", "true", "false"]), st.text(max_size=8).map(json.dumps), _NUMBERS,
    st.sampled_from(['"replace"', '"upsert"', '"x.y"', "{}", "[]"]),
)
_KEYS = st.sampled_from(
    ["includeLayers", "cwd", "keyPath", "value", "mergeStrategy", "edits", "filePath", "expectedVersion",
     "reloadUserConfig", "cursor", "limit", "threadId", "enablement", "clientInfo", "capabilities", "name",
     "version", "experimentalApi", "optOutNotificationMethods", "granular", "replace", "upsert", "zz"]
)
_JSON_TEXT = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5).map(lambda xs: "[" + ",".join(xs) + "]"),
        st.lists(st.tuples(_KEYS, inner), max_size=5).map(
            lambda kv: "{" + ",".join(f'"{k}":{v}' for k, v in kv) + "}"
        ),
    ),
    max_leaves=25,
)


@settings(max_examples=400, deadline=None)
@given(params=_JSON_TEXT, method=st.sampled_from(sorted(ROUTES)))
def test_any_params_decode_or_raise_params_error(params: str, method: str) -> None:
    frame = classify(f'{{"id":1,"method":"{method}","params":{params}}}'.encode())
    assert isinstance(frame, Request) and frame.params is not None
    raw = frame.params
    route = ROUTES[method]
    try:
        if route.params_type is None:
            decode_unit_params(raw)
        else:
            decode_params(raw, route.params_type)
    except ParamsError as exc:
        text = str(exc)
        assert text and "Error" not in text
        assert "Expected `" not in text and "at `$" not in text, text  # msgspec's wording, not serde's


# --- on the wire -------------------------------------------------------------------------------------


async def test_odd_numbers_and_positional_params_are_answered_and_the_server_serves_on(session: Any) -> None:
    async with session() as c:
        frames = [
            ('{"id":"odd-1","method":"experimentalFeature/list","params":{"cursor":' + NINES + "}}",
             "Invalid request: invalid type: map, expected a string"),
            ('{"id":"odd-2","method":"config/read","params":{"includeLayers":1e400}}',
             "Invalid request: invalid type: map, expected a boolean"),
            ('{"id":"odd-3","method":"experimentalFeature/list","params":{"limit":18446744073709551616}}',
             "Invalid request: " + U128),
            ('{"id":"odd-4","method":"config/read","params":[]}',
             "Invalid request: invalid length 1, expected struct ConfigReadParams with 2 elements"),
        ]
        for n, (frame, text) in enumerate(frames, 1):
            await c.send_raw(frame)
            reply = await c.response(f"odd-{n}")
            assert reply["error"] == {"code": -32600, "message": text}
        assert "config" in (await c.call("config/read", {}))["result"]


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_the_shortest_text_of_any_float_reads_back_as_that_float(x: float) -> None:
    for text in (rust_float(x), rust_float_display(x)):
        value = parse_float(text)
        assert isinstance(value, float) and value == x, (text, value)
    if "e" in repr(x):  # Python writes 1e-05 where serde_json writes 0.00001: not the shortest text
        assert parse_float(repr(x)) == ({NUMBER_KEY: repr(x)} if repr(x) != rust_float(x) else x)


async def test_a_value_beyond_float_range_is_written_as_the_reference_number_table(
    session: Any, codex_home: Path
) -> None:
    async with session() as c:
        for n, literal in enumerate(("1e999", "1E2"), 1):
            frame = (
                f'{{"id":"num-{n}","method":"config/value/write","params":{{"keyPath":"x.n{n}",'
                f'"value":{literal},"mergeStrategy":"replace"}}}}'
            )
            await c.send_raw(frame)
            assert (await c.response(f"num-{n}"))["result"]["status"] == "ok"
    # the bytes codex 0.169.0 writes for the same two requests
    assert (codex_home / "config.toml").read_text() == (
        '[x.n1]\n"$serde_json::private::Number" = "1e+999"\n\n[x.n2]\n"$serde_json::private::Number" = "1e+2"\n'
    )
