"""Offset paging as the reference's list methods do it (``model/list``, ``experimentalFeature/list``):
the cursor is the decimal index of the next item, parsed as a Rust ``usize``; ``limit: 0`` counts
as 1; no limit means every remaining item; ``nextCursor`` is null on the last page."""

from __future__ import annotations

from typing import Final

from chamberlain.errors import InvalidRequest

__all__ = ["USIZE_MAX", "next_cursor", "offset_page"]

USIZE_MAX: Final = 2**64 - 1


def offset_page(cursor: str | None, limit: int | None, total: int, items: str) -> tuple[int, int]:
    """``(start, end)`` of the page. InvalidRequest ``invalid cursor: <cursor>`` for a cursor that is
    not a ``usize``, ``cursor <n> exceeds total <items> <total>`` for one past the end."""
    start = 0
    if cursor is not None:
        parsed = _parse_usize(cursor)
        if parsed is None:
            raise InvalidRequest(f"invalid cursor: {cursor}")
        if parsed > total:
            raise InvalidRequest(f"cursor {parsed} exceeds total {items} {total}")
        start = parsed
    return start, total if limit is None else min(total, start + max(limit, 1))


def next_cursor(end: int, total: int) -> str | None:
    return str(end) if end < total else None


def _parse_usize(text: str) -> int | None:
    """Rust's ``usize::from_str``: an optional '+', then ASCII digits, at most ``USIZE_MAX``."""
    digits = text[1:] if text.startswith("+") else text
    if not digits or not digits.isascii() or not digits.isdigit():
        return None
    value = int(digits)
    return value if value <= USIZE_MAX else None
