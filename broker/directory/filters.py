"""scim2-models' parsed filter -> the store's `Filter` tree (`broker.model.directories`).

Gatehouse answers the filters provisioning clients send (Okta: `userName eq`, Entra:
`userName eq`, `externalId eq`, `displayName eq`, `members[value eq]` reads) and a little
more: `eq`, `co`, `sw`, `pr`, `and`, `or` on the attributes of `USER_FILTER_ATTRIBUTES`
and `GROUP_FILTER_ATTRIBUTES`. Anything else is a 400 `invalidFilter` naming what was
refused (RFC 7644 §3.4.2.2 allows refusing unsupported filters), never a wrong answer
from filtering a page afterwards. A filter of more than `MAX_TERMS` comparisons is
refused too: each becomes a condition of one SQL statement.
"""

from __future__ import annotations

from typing import Any

from scim2_models import InvalidFilterException
from scim2_models.path.expressions import (
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Present,
    ValuePath,
)

from broker.model.directories import (
    GROUP_FILTER_ATTRIBUTES,
    USER_FILTER_ATTRIBUTES,
    And,
    Compare,
    Filter,
    FilterOp,
    Or,
)

#: Comparisons per filter. Okta and Entra send one; a portal search a few.
MAX_TERMS = 10
#: Characters of a filter before it is parsed at all (the parser recurses on nesting).
MAX_LENGTH = 1_000
#: Parentheses and brackets nested before it is parsed.
MAX_NESTING = 5

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"

_OPS = {
    CompareOperator.eq: FilterOp.EQ,
    CompareOperator.co: FilterOp.CO,
    CompareOperator.sw: FilterOp.SW,
}
#: Attributes compared case-insensitively (caseExact false in RFC 7643 §4.1.1, §4.2).
_CASELESS = frozenset({"userName", "displayName", "emails"})
#: The sub-attribute a complex attribute stands for when named alone.
_VALUE_OF = {"emails": "value", "members": "value"}


def check_raw(text: str) -> None:
    """Refuse a filter too long or too deeply nested to be parsed cheaply, before
    scim2-models' recursive parser sees it."""
    if len(text) > MAX_LENGTH:
        raise InvalidFilterException(detail=f"filter longer than {MAX_LENGTH} characters")
    depth = deepest = 0
    for char in text:
        if char in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise InvalidFilterException(detail=f"filter nested deeper than {MAX_NESTING}")


def translate(node: FilterNode, *, resource: str) -> Filter:
    """The store's tree for a User (`resource="User"`) or Group filter."""
    allowed, schema = (
        (USER_FILTER_ATTRIBUTES, USER_SCHEMA)
        if resource == "User"
        else (GROUP_FILTER_ATTRIBUTES, GROUP_SCHEMA)
    )
    terms = [0]
    return _node(node, allowed, schema, terms)


def _node(node: FilterNode, allowed: frozenset[str], schema: str, terms: list[int]) -> Filter:
    if isinstance(node, LogicalExpr):
        parts = [_node(term, allowed, schema, terms) for term in node.terms]
        combine = And if node.op is LogicalOperator.and_ else Or
        tree = parts[0]
        for part in parts[1:]:
            tree = combine(tree, part)
        return tree
    terms[0] += 1
    if terms[0] > MAX_TERMS:
        raise InvalidFilterException(detail=f"more than {MAX_TERMS} comparisons in a filter")
    if isinstance(node, ValuePath):
        return _value_path(node, allowed, schema)
    if isinstance(node, Present):
        return Compare(_attribute(node.attr_path, allowed, schema), FilterOp.PR)
    if isinstance(node, Comparison):
        attribute = _attribute(node.attr_path, allowed, schema)
        return _compare(attribute, node.op, node.value)
    raise InvalidFilterException(detail=f"unsupported filter: {node}")


def _value_path(node: ValuePath, allowed: frozenset[str], schema: str) -> Filter:
    """`emails[value eq "x"]` and `members[value eq "id"]`: the one form of value filter
    Gatehouse answers, the same as `emails.value eq "x"`."""
    inner = node.val_filter
    if (
        node.sub_attr is None
        and isinstance(inner, Comparison)
        and inner.attr_path.sub_attr is None
        and inner.attr_path.uri is None
        and inner.attr_path.attr.lower() == "value"
    ):
        attribute = _attribute(node.attr_path, allowed, schema)
        if attribute in _VALUE_OF:
            return _compare(attribute, inner.op, inner.value)
    raise InvalidFilterException(detail=f"unsupported value filter: {node}")


def _attribute(path: Any, allowed: frozenset[str], schema: str) -> str:
    if path.uri is not None and path.uri.lower() != schema.lower():
        raise InvalidFilterException(detail=f"cannot filter on {path}")
    name = next((a for a in allowed if a.lower() == path.attr.lower()), None)
    if name is None:
        raise InvalidFilterException(detail=f"cannot filter on {path}")
    if path.sub_attr is not None and _VALUE_OF.get(name) != path.sub_attr.lower():
        raise InvalidFilterException(detail=f"cannot filter on {path}")
    return name


def _compare(attribute: str, op: CompareOperator, value: Any) -> Compare:
    ours = _OPS.get(op)
    if ours is None:
        raise InvalidFilterException(detail=f"operator {op} is not supported")
    if attribute == "active":
        flag = _boolean(value)
        if ours is not FilterOp.EQ or flag is None:
            raise InvalidFilterException(detail="active compares with eq true or eq false")
        return Compare(attribute, ours, flag)
    if attribute == "members" and ours is not FilterOp.EQ:
        raise InvalidFilterException(detail="members compares with eq only")
    if not isinstance(value, str):
        raise InvalidFilterException(detail=f"{attribute} compares with a string")
    if "\x00" in value:
        raise InvalidFilterException(detail="a filter value holds a NUL character")
    return Compare(attribute, ours, value.lower() if attribute in _CASELESS else value)


def _boolean(value: Any) -> bool | None:
    """True/False, or Entra's "True"/"False" strings (see `quirks`)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
