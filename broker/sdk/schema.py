"""One rule for reading the API's JSON into frozen dataclasses and writing it back.

Every resource is declared once, as a dataclass whose field names are the JSON keys, and this
module reads it from its type hints: so a resource cannot parse one way and serialize
another, and `from_json(x).to_dict() == x` holds for every answer. A key the SDK does not
know (a newer Gatehouse) lands in `extra` and is written back; a key it needs that is
missing, or a value of the wrong JSON type, raises `MalformedResponse` naming the resource
and the field, rather than a `KeyError` deep inside a caller.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Self, TypeVar, Union, get_args, get_origin, get_type_hints

from broker.sdk.errors import MalformedResponse

#: Metadata of a field the API sends only sometimes (a portal link's `url`): absent in the
#: JSON reads as None, and None is left out of `to_dict()`.
SOMETIMES = {"sometimes": True}

T = TypeVar("T", bound="ApiObject")


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiObject:
    """A JSON object of the API. `extra` holds the keys this SDK does not know yet."""

    #: Which resource this is, as errors name it.
    RESOURCE: ClassVar[str] = "object"

    #: Not hashed (a dict is not hashable): an Organization can still go in a set.
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, hash=False)

    @classmethod
    def from_json(cls, data: Any) -> Self:
        return _parse(cls, data, cls.RESOURCE, "")

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON form of this object (dates as the API writes them)."""
        out: dict[str, Any] = {}
        for spec in _declared(type(self)):
            value = getattr(self, spec.name)
            if value is None and spec.metadata.get("sometimes"):
                continue
            out[spec.name] = _dumped(value)
        out.update(self.extra)
        return out


def _declared(cls: type[ApiObject]) -> tuple[Field[Any], ...]:
    return tuple(f for f in fields(cls) if f.name != "extra")


#: Each resource's resolved type hints (resolving them per answer would be wasted work).
_HINTS: dict[type[ApiObject], dict[str, Any]] = {}


def _hints(cls: type[ApiObject]) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _parse(cls: type[T], data: Any, resource: str, at: str) -> T:
    if not isinstance(data, Mapping):
        raise MalformedResponse(resource, at or "(the answer)", "is not a JSON object")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for spec in _declared(cls):
        where = f"{at}{spec.name}"
        if spec.name not in data:
            if spec.default is MISSING and spec.default_factory is MISSING:
                raise MalformedResponse(resource, where, "is missing")
            continue
        values[spec.name] = _read(hints[spec.name], data[spec.name], resource, where)
    known = {spec.name for spec in _declared(cls)}
    extra = {key: value for key, value in data.items() if key not in known}
    return cls(**values, extra=extra)


def _read(hint: Any, value: Any, resource: str, where: str) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        [inner] = [arg for arg in args if arg is not type(None)]
        return _read(inner, value, resource, where)
    if origin is tuple:
        if not isinstance(value, list):
            raise MalformedResponse(resource, where, "is not a JSON array")
        return tuple(_read(args[0], v, resource, f"{where}[{n}]") for n, v in enumerate(value))
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise MalformedResponse(resource, where, "is not a JSON object")
        return {k: _read(args[1], v, resource, f"{where}.{k}") for k, v in value.items()}
    if isinstance(hint, type) and issubclass(hint, ApiObject):
        return _parse(hint, value, resource, f"{where}.")
    if hint is datetime:
        try:
            return datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise MalformedResponse(resource, where, "is not an ISO 8601 date") from None
    # bool is an int in Python, never in JSON: the exact type, so `1` is no `true`.
    if type(value) is not hint:
        raise MalformedResponse(resource, where, f"is not a {_JSON_NAMES.get(hint, hint)}")
    return value


_JSON_NAMES: dict[Any, str] = {str: "string", int: "integer", bool: "boolean"}


def _dumped(value: Any) -> Any:
    if isinstance(value, datetime):
        # The API (pydantic) writes UTC as Z, and microseconds only when there are some.
        text = value.isoformat()
        return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, ApiObject):
        return value.to_dict()
    if isinstance(value, tuple):
        return [_dumped(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _dumped(v) for k, v in value.items()}
    return value
