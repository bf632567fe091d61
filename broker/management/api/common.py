"""Models and helpers every resource shares: list queries, deletion replies, path values."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from broker.management import pagination, text_rules
from broker.management.api.operations import Call
from broker.model.numerals import parse_decimal

#: A name a person reads: no control characters, and not blank (the use cases collapse runs
#: of white space). The same rule as `broker.management.text`, stated for the schema.
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=text_rules.NAME_PATTERN)]
#: An identifier the app team chose: no control characters, no surrounding white space.
Key = Annotated[str, Field(min_length=1, max_length=200, pattern=text_rules.KEY_PATTERN)]


class Input(BaseModel):
    """A request body or query: unknown fields are refused, never ignored (M-04: `id`,
    `verified`, `created_at` cannot be slipped in)."""

    model_config = ConfigDict(extra="forbid")


def _ascii_count(value: object) -> object:
    """A query's number as protocols write it: ASCII digits only (pydantic alone reads
    `5_0` as 50 and ` 5` as 5). Larger than `MAX_COUNT` is refused; up to it, a page size
    is capped, not obeyed (M-07)."""
    if isinstance(value, str):
        return parse_decimal(value, maximum=MAX_COUNT)
    return value


MAX_COUNT = 2**31 - 1
#: A whole number in a query string.
Count = Annotated[int, BeforeValidator(_ascii_count)]


class ListQuery(Input):
    cursor: str | None = Field(default=None, description="next_cursor of the previous page")
    limit: Count | None = Field(
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
