"""Rows of one query grouped by a column: reading several subjects in one round trip."""

from __future__ import annotations

from sqlalchemy import CursorResult, RowMapping


def group_by(result: CursorResult[object], column: str) -> dict[str, list[RowMapping]]:
    """{value of `column`: its rows, in the query's order}."""
    grouped: dict[str, list[RowMapping]] = {}
    for row in result.mappings():
        grouped.setdefault(str(row[column]), []).append(row)
    return grouped
