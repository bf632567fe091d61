"""The SCIM filter tree (`broker.model.directories.Filter`) as SQL conditions.

No LIKE: its wildcards would need escaping, and SQLite's LIKE ignores ASCII case where
externalId is case-exact (RFC 7643 §3.1). `sw` is a prefix comparison with `substr`, `co`
a substring position (`instr` on SQLite, `strpos` on PostgreSQL); case-insensitive
attributes compare lower-cased columns (`*_norm`, `email_values`) with values the caller
lower-cased, so both backends answer alike.

Emails: `email_values` holds every value between newlines ("\\na@x\\nb@y\\n"), so `eq`
looks for "\\nvalue\\n", `sw` for "\\nvalue", `co` for the value itself (a value holding
a newline cannot match one email and matches nothing).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import ColumnElement, exists, false, func, select

from broker.model.directories import And, Compare, Filter, FilterOp, Or
from broker.store.sql.tables_directories import (
    directory_groups,
    directory_memberships,
    directory_users,
)

_USER_COLUMNS: dict[str, sa.Column[Any]] = {
    "id": directory_users.c.id,
    "userName": directory_users.c.user_name_norm,
    "externalId": directory_users.c.external_id,
    "displayName": directory_users.c.display_name_norm,
}
_GROUP_COLUMNS: dict[str, sa.Column[Any]] = {
    "id": directory_groups.c.id,
    "displayName": directory_groups.c.display_name_norm,
    "externalId": directory_groups.c.external_id,
}


class UnsupportedFilter(ValueError):
    """The tree names an attribute or operator this table cannot answer (the directory
    layer builds only supported trees: this is a bug guard, not a user-facing check)."""


def user_condition(where: Filter, dialect: str) -> ColumnElement[bool]:
    return _condition(where, dialect, _user_compare)


def group_condition(where: Filter, dialect: str) -> ColumnElement[bool]:
    return _condition(where, dialect, _group_compare)


def _condition(where: Filter, dialect: str, compare: Any) -> ColumnElement[bool]:
    if isinstance(where, And):
        return sa.and_(
            _condition(where.left, dialect, compare), _condition(where.right, dialect, compare)
        )
    if isinstance(where, Or):
        return sa.or_(
            _condition(where.left, dialect, compare), _condition(where.right, dialect, compare)
        )
    result: ColumnElement[bool] = compare(where, dialect)
    return result


def _user_compare(node: Compare, dialect: str) -> ColumnElement[bool]:
    if node.attribute == "active":
        return _boolean(directory_users.c.active, node)
    if node.attribute == "emails":
        return _emails(node, dialect)
    column = _USER_COLUMNS.get(node.attribute)
    if column is None:
        raise UnsupportedFilter(node.attribute)
    return _text(column, node, dialect)


def _group_compare(node: Compare, dialect: str) -> ColumnElement[bool]:
    if node.attribute == "members":
        member = directory_memberships.c.group_id == directory_groups.c.id
        if node.op is FilterOp.PR:
            return exists(select(directory_memberships.c.user_id).where(member))
        if node.op is FilterOp.EQ and isinstance(node.value, str):
            return exists(
                select(directory_memberships.c.user_id).where(
                    member, directory_memberships.c.user_id == node.value
                )
            )
        raise UnsupportedFilter(f"members {node.op}")
    column = _GROUP_COLUMNS.get(node.attribute)
    if column is None:
        raise UnsupportedFilter(node.attribute)
    return _text(column, node, dialect)


def _text(column: sa.Column[Any], node: Compare, dialect: str) -> ColumnElement[bool]:
    if node.op is FilterOp.PR:
        return column.is_not(None)
    value = node.value
    if not isinstance(value, str):
        return false()
    if node.op is FilterOp.EQ:
        return column == value
    if node.op is FilterOp.SW:
        return func.substr(column, 1, len(value)) == value
    return _position(column, value, dialect) > 0


def _emails(node: Compare, dialect: str) -> ColumnElement[bool]:
    column = directory_users.c.email_values
    if node.op is FilterOp.PR:
        return column != ""
    value = node.value
    if not isinstance(value, str) or "\n" in value:
        return false()
    needle = {FilterOp.EQ: f"\n{value}\n", FilterOp.SW: f"\n{value}", FilterOp.CO: value}[node.op]
    return _position(column, needle, dialect) > 0


def _boolean(column: sa.Column[Any], node: Compare) -> ColumnElement[bool]:
    if node.op is FilterOp.PR:
        return column.is_not(None)
    if node.op is FilterOp.EQ and isinstance(node.value, bool):
        return column == node.value
    raise UnsupportedFilter(f"active {node.op}")


def _position(column: sa.Column[Any], needle: str, dialect: str) -> ColumnElement[int]:
    if dialect == "postgresql":
        return func.strpos(column, needle)
    return func.instr(column, needle)
