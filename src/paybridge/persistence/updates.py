"""`UPDATE … SET <named columns> WHERE id = …` statements, stated from the table objects.

A use case that changes a caller-chosen set of columns gets a statement whose SET clause
names exactly those columns (checked against the table, so a misspelt or dropped column
fails loudly); each distinct set is built once and reused, keeping SQLAlchemy's cached
compilation. Binds are named `v_<column>`: SQLAlchemy reserves the column names themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Table, Update, bindparam, update

KEY_PARAM = "k_id"


class RowUpdates:
    """The UPDATEs of one table's rows by primary key `id`.

    `always` are SET expressions every statement carries (`version = version + 1`);
    `returning` adds `RETURNING` of the whole row."""

    def __init__(
        self,
        table: Table,
        *,
        always: Mapping[str, ColumnElement[Any]] | None = None,
        returning: bool = False,
    ) -> None:
        self._table = table
        self._always = dict(always or {})
        self._returning = returning
        self._built: dict[frozenset[str], Update] = {}

    def statement(self, columns: frozenset[str]) -> Update:
        """The statement setting `columns` (bound as `:v_<column>`), built on first use."""
        stmt = self._built.get(columns)
        if stmt is None:
            unknown = columns - set(self._table.c.keys())
            if unknown:
                raise ValueError(f"not columns of {self._table.name}: {sorted(unknown)}")
            stmt = (
                update(self._table)
                .where(self._table.c.id == bindparam(KEY_PARAM))
                .values(
                    {**{name: bindparam(_bind(name)) for name in sorted(columns)}, **self._always}
                )
            )
            if self._returning:
                stmt = stmt.returning(*self._table.c)
            self._built[columns] = stmt
        return stmt

    def params(self, row_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        return {KEY_PARAM: row_id, **{_bind(name): value for name, value in values.items()}}

    def of(self, row_id: str, values: Mapping[str, Any]) -> tuple[Update, dict[str, Any]]:
        """The statement and parameters that set `values` on row `row_id`."""
        return self.statement(frozenset(values)), self.params(row_id, values)


def _bind(column: str) -> str:
    return f"v_{column}"
