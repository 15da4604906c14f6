"""TOML files as the reference sees them: parse errors in its ``path:line:col: reason`` form, the
JSON rendering of a layer (with its two quirks) and the content-hash ``version``."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import tomllib
from typing import Any, Final, cast

from chamberlain import tomlengine
from chamberlain.errors import TomlParseError
from chamberlain.tomlengine.fastload import fast_loads
from chamberlain.tomlengine.syntax import unclosed_at_end

#: ``sha256`` of ``{}``: the version of an empty or missing layer.
EMPTY_VERSION: Final = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
DATETIME_KEY: Final = "$__toml_private_datetime"
NUMBER_KEY: Final = "$serde_json::private::Number"
#: Top-level tables the reference stores as free-form JSON (their numbers get the NUMBER_KEY quirk).
_FREEFORM_JSON_TABLES: Final = frozenset({"desktop"})
#: Datetimes whose text ``tomllib``'s values cannot give back: more than microsecond digits, or an
#: explicit zero offset (``+00:00``, which the reference prints as written, not as ``Z``).
_LOSSY_DATETIME_RE: Final = re.compile(r"[0-9]:[0-9]{2}\.[0-9]{7}|[+-]00:00")
#: Where a TOML datetime may be (or a string that looks like one: then the slower walk runs).
_DATETIME_RE: Final = re.compile(r"[0-9]-[0-9]{2}-[0-9]|[0-9]:[0-9]{2}:")
#: A line whose key is dotted (``a.b = 1``, ``"a" . b = 1``): only such files are checked for the
#: reference's rule on dotted keys into tables a header made.
_DOTTED_KEY_LINE_RE: Final = re.compile(r"^[ \t]*[^#\[\s=][^=\n]*\.[^\n]*=", re.MULTILINE)
_TOMLLIB_POSITION_RE: Final = re.compile(r"^(.*?)(?: \(at line (\d+), column (\d+)\))?$", re.DOTALL)


def load_toml(text: str, path: str) -> dict[str, Any]:
    """The plain data of ``text`` (``tomllib``); a syntax error becomes :class:`TomlParseError`
    with 1-based line/column and the reference's wording."""
    body = text[1:] if text.startswith("\ufeff") else text
    plain = fast_loads(body)
    if plain is not None:
        return plain
    try:
        plain = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise _syntax_error(body, path, exc) from None
    if _DOTTED_KEY_LINE_RE.search(body):  # a rule tomllib does not check (see DuplicateKeyError)
        try:
            tomlengine.parse(body.replace("\r\n", "\n"))
        except tomlengine.DuplicateKeyError as exc:
            raise TomlParseError(path, exc.line, exc.column, "duplicate key") from None
    return plain


#: tomlkit's error class -> (columns past tomlkit's, the toml crate's wording)
_KIT_WORDING: Final = {
    "EmptyKeyError": (0, "unquoted keys cannot be empty, expected letters, numbers, `-`, `_`"),
    "InvalidControlChar": (1, 'invalid basic string, expected `"`'),
    "InvalidCharInStringError": (1, "missing escaped value, expected " + ", ".join(f"`{c}`" for c in 'befnr\\"xuU')),
}


def _syntax_error(text: str, path: str, exc: tomllib.TOMLDecodeError) -> TomlParseError:
    """Word a syntax error as the reference's ``toml`` crate does, for the common cases. Only
    failing files get here, so the cold path may use tomlkit's richer error classes (imported only
    now); else tomllib's own text."""
    import tomlkit
    import tomlkit.exceptions as tke

    try:
        tomlkit.parse(text)
    except tke.ParseError as kit:
        line, col, message = kit.line, kit.col + 1, str(kit)
        lines = text.split("\n")
        src = lines[line - 1] if 0 < line <= len(lines) else ""
        at = message.rfind(" at line ")
        shift, reason = _KIT_WORDING.get(type(kit).__name__, (0, message[:at] if at >= 0 else message))
        unclosed = unclosed_at_end(text) if message.startswith("Unexpected character: '\\x00'") else None
        if unclosed is not None:  # the end of input inside an array or inline table
            line, col, reason = unclosed
            shift = 0
        elif "already exists" in message:
            col, shift, reason = 1, 0, "duplicate key"
        elif isinstance(kit, tke.UnexpectedCharError) and re.search(r"=\s*$", src[: kit.col]):
            col, shift, reason = len(src) + 1, 0, "string values must be quoted, expected literal string"
        return TomlParseError(path, line, col + shift, reason)
    except Exception:
        pass
    match = _TOMLLIB_POSITION_RE.match(str(exc))
    assert match is not None
    reason, line_text, col_text = match.group(1), match.group(2), match.group(3)
    return TomlParseError(path, int(line_text or 1), int(col_text or 1), reason[:1].lower() + reason[1:])


def _raw_datetime_text(item: Any) -> str:
    """The same display from a datetime's source text (tomlkit item: the lossy cases)."""
    raw = item.as_string().strip()
    raw = re.sub(r"^(\d{4}-\d{2}-\d{2})[ tT](?=\d)", r"\1T", raw)
    raw = raw[:-1] + "Z" if raw.endswith("z") else raw
    return re.sub(r"\.(\d+?)0*(?=$|[Zz+-])", lambda m: "." + m.group(1) if m.group(1) != "0" else "", raw)


def _number_text(v: int | float) -> str:
    if isinstance(v, int):
        return str(v)
    text = repr(v)
    if "e" in text:
        mant, exp = text.split("e")
        sign = "-" if exp.startswith("-") else ""
        text = f"{mant}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"
    return text


def file_json(text: str, plain: dict[str, Any]) -> dict[str, Any]:
    """The layer JSON of a file: from its plain data, or - for the rare datetimes ``tomllib``
    cannot give back exactly - from a tomlkit reading of its text (imported only then)."""
    if _DATETIME_RE.search(text) is None:  # no datetime anywhere: only free-form tables differ
        shared = dict(plain)
        for key in _FREEFORM_JSON_TABLES & shared.keys():
            shared[key] = layer_json(shared[key], _freeform=True, _top=False)
        return shared
    if _LOSSY_DATETIME_RE.search(text) is None:
        return cast("dict[str, Any]", layer_json(plain))
    import tomlkit

    return cast("dict[str, Any]", layer_json(tomlkit.parse(text[1:] if text.startswith("\ufeff") else text)))


def layer_json(doc: Any, *, _freeform: bool = False, _top: bool = True) -> Any:
    """Plain TOML data (or a tomlkit container) as the JSON the reference reports in
    ``layers[].config``.

    Key order is file order; datetimes become ``{"$__toml_private_datetime": "<text>"}``; numbers
    under free-form JSON tables (``desktop``) become ``{"$serde_json::private::Number": "<text>"}``.
    """
    if isinstance(doc, dict):
        out: dict[str, Any] = {}
        for key, value in doc.items():
            free = _freeform or (_top and key in _FREEFORM_JSON_TABLES)
            out[str(key)] = layer_json(value, _freeform=free, _top=False)
        return out
    if isinstance(doc, list):
        return [layer_json(v, _freeform=_freeform, _top=False) for v in doc]
    if isinstance(doc, bool):
        return bool(doc)
    if isinstance(doc, (int, float)):  # (tomlkit's items subclass them)
        number = int(doc) if isinstance(doc, int) else float(doc)
        return {NUMBER_KEY: _number_text(number)} if _freeform else number
    if isinstance(doc, str):
        return str(doc)
    if isinstance(doc, (dt.datetime, dt.date, dt.time)):
        if hasattr(doc, "as_string"):
            return {DATETIME_KEY: _raw_datetime_text(doc)}
        return {DATETIME_KEY: tomlengine.value_repr(doc)}  # the reference's display of it
    return doc


def plain_json(value: Any) -> Any:
    """Inverse of the quirks: the layer JSON with datetimes as their text and numbers as numbers
    (what the effective config and ``effectiveValue`` show)."""
    if isinstance(value, dict):
        if len(value) == 1:
            if DATETIME_KEY in value:
                return value[DATETIME_KEY]
            if NUMBER_KEY in value:
                text = value[NUMBER_KEY]
                return float(text) if any(c in text for c in ".eEn") else int(text)
        return {k: plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    return value


def version_of(value: Any) -> str:
    """``sha256:`` + hex digest of the compact, key-sorted JSON of a layer (non-ASCII kept)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _split_key(text: str) -> list[str]:
    """The segments of a TOML key (``a."b.c".d``); ``[""]`` (matching no path) when it is none."""
    try:
        table: Any = tomllib.loads(f"{text} = 0")
    except tomllib.TOMLDecodeError:
        return [""]
    out: list[str] = []
    while isinstance(table, dict):
        ((key, table),) = table.items()
        out.append(key)
    return out


def _value_end(line: str, start: int) -> int:
    """Index one past the value that starts at ``start``: before the first ``#`` after which the
    value reads as TOML (a trailing comment), else the first ``#`` (a value going on below)."""
    cuts = [i for i in range(start, len(line)) if line[i] == "#"] + [len(line)]
    for cut in cuts:
        with contextlib.suppress(tomllib.TOMLDecodeError):
            tomllib.loads(f"x = {line[start:cut]}")
            return len(line[:cut].rstrip())
    return len(line[: cuts[0]].rstrip())


def locate(text: str, dotted: str | None) -> tuple[int, int, int]:
    """(line, start column, end column), 1-based and inclusive, of the value at ``dotted`` in a
    TOML text — or of its table header — for the position of a startup warning. (1, 1, 1) when not
    found."""
    if not dotted:
        return 1, 1, 1
    want = dotted.split(".")
    table: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            close = stripped.find("]")
            table = _split_key(stripped[1:close])
            if table == want:
                begin = line.index("[")
                return number, begin + 1, line.index("]", begin) + 1
            continue
        eq = line.find("=")
        if eq <= 0 or stripped.startswith("#"):
            continue
        if table + _split_key(line[:eq]) == want:
            start = eq + 1
            while start < len(line) and line[start].isspace():
                start += 1
            return number, start + 1, max(_value_end(line, start), start + 1)
    return 1, 1, 1
