"""Models and helpers every resource shares: list queries, deletion replies, path values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from broker.management import pagination
from broker.management.api.operations import Call


class Input(BaseModel):
    """A request body or query: unknown fields are refused, never ignored (M-04: `id`,
    `verified`, `created_at` cannot be slipped in)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ListQuery(Input):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int | None = Field(
        default=None, ge=1, description=f"page size; at most {pagination.MAX_LIMIT}"
    )


def list_query(call: Call) -> ListQuery:
    assert isinstance(call.query, ListQuery)
    return call.query


def body(call: Call, model: type[Input]) -> Input:
    assert isinstance(call.body, model)
    return call.body
