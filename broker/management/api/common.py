"""Models and helpers every resource shares: list queries, deletion replies, path values."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from broker.management import pagination, text_rules
from broker.management.api.operations import Call

#: A name a person reads: no control characters, and not blank (the use cases collapse runs
#: of white space). The same rule as `broker.management.text`, stated for the schema.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=text_rules.NAME_PATTERN)]
#: An identifier the app team chose: no control characters, no surrounding white space.
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=text_rules.KEY_PATTERN)]


class Input(BaseModel):
    """A request body or query: unknown fields are refused, never ignored (M-04: `id`,
    `verified`, `created_at` cannot be slipped in)."""

    model_config = ConfigDict(extra="forbid")


class ListQuery(Input):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: int | None = Field(
        default=None, ge=1, description=f"page size; at most {pagination.MAX_LIMIT}"
    )


#: An id in a body or query: printable ASCII, as every id Gatehouse makes (PostgreSQL
#: refuses a NUL in a text parameter; a 422 says so instead of a 500).
ID_PATTERN = r"^[!-~]+$"


def list_query(call: Call) -> ListQuery:
    assert isinstance(call.query, ListQuery)
    return call.query


def body(call: Call, model: type[Input]) -> Input:
    assert isinstance(call.body, model)
    return call.body
