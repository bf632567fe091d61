"""What Okta and Microsoft Entra ID actually send, made into what RFC 7644 says, before
scim2-models validates it. Each quirk is one named function with the vendor behaviour it
answers; `normalise_body` runs them in order. They only ever rewrite a shape the RFC does
not define, or defines with a meaning the vendor plainly does not intend, into the
standard shape that means what the vendor meant; a standard request passes unchanged.

The README's "SCIM quirks" table lists them with what Gatehouse does.

Some vendor behaviours need no rewriting, only the right semantics, and are kept by the
service and storage rather than here (tests name them too):

- `active: false` instead of DELETE (Okta deprovisioning, Entra "soft delete"): an update
  that records `directory.user.deactivated`; sign-in refuses the person.
- Retried creates (Okta retries a POST that timed out): the userName is unique whatever
  its case, so the retry gets 409 `uniqueness`, which Okta's documentation asks for
  ("If the User already exists, return 409 Conflict") and then matches the existing user.
- `count=0` (Entra probes with it): `totalResults` only, no resources.
- An email changing (Entra: a PATCH replace on `emails[type eq "work"].value`): an update
  of the same user, never a delete and create.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

JsonBody = dict[str, Any]

PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Attributes of RFC 7643's User and Group whose type is boolean.
_BOOLEANS = frozenset({"active", "primary"})
#: `emails[type eq "work"].value`: a filtered path naming one sub-attribute.
_TYPED_PATH = re.compile(
    r'^(?P<attr>[A-Za-z][\w-]*)\[\s*type\s+eq\s+"(?P<type>[^"\\]*)"\s*\]\.(?P<sub>[A-Za-z][\w-]*)$',
    re.IGNORECASE,
)


def lowercase_op_names(body: JsonBody) -> JsonBody:
    """Entra ID sends PATCH `op` values capitalised: "Add", "Replace", "Remove" (Microsoft
    documents it as non-compliant behaviour fixed only behind the `aadOptscim062020`
    flag). RFC 7644 §3.5.2 spells them in lower case."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed = [
        {**op, "op": op["op"].lower()}
        if isinstance(op, dict) and isinstance(op.get("op"), str)
        else op
        for op in operations
    ]
    return {**body, "Operations": fixed}


def boolean_strings(body: JsonBody) -> JsonBody:
    """Entra ID sends booleans as strings in PATCH values: `{"op": "Replace", "path":
    "active", "value": "False"}` (Microsoft's SCIM guidance lists it among known issues).
    Read "true"/"false" (any case) as booleans where the attribute is boolean: a PATCH
    value for `active`/`...primary`, a value object's `active`, and the same attributes in
    a POST or PUT body."""
    operations = body.get("Operations")
    if isinstance(operations, list):
        return {**body, "Operations": [_boolean_op(op) for op in operations]}
    fixed: JsonBody = _booleans_in(body)
    return fixed


def _boolean_op(op: Any) -> Any:
    if not isinstance(op, dict):
        return op
    path = op.get("path")
    value = op.get("value")
    if isinstance(path, str) and path.rsplit(".", 1)[-1].lower() in _BOOLEANS:
        return {**op, "value": _as_boolean(value)}
    if isinstance(value, dict | list):
        return {**op, "value": _booleans_in(value)}
    return op


def _booleans_in(value: Any) -> Any:
    if isinstance(value, list):
        return [_booleans_in(item) for item in value]
    if isinstance(value, dict):
        return {
            key: _as_boolean(item)
            if key.rsplit(".", 1)[-1].lower() in _BOOLEANS
            else _booleans_in(item)
            for key, item in value.items()
        }
    return value


def _as_boolean(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return value


def remove_members_by_value(body: JsonBody) -> JsonBody:
    """Entra ID removes group members with `{"op": "Remove", "path": "members", "value":
    [{"value": "<id>"}]}`. RFC 7644 §3.5.2.2 gives a remove no value: `path: members`
    alone means every member, and a server that read it so would empty the group. Entra
    means the listed members: each becomes `members[value eq "<id>"]`."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed: list[Any] = []
    for op in operations:
        if (
            isinstance(op, dict)
            and str(op.get("op", "")).lower() == "remove"
            and str(op.get("path", "")).lower() == "members"
            and isinstance(op.get("value"), list)
        ):
            for member in op["value"]:
                ident = member.get("value") if isinstance(member, dict) else None
                if isinstance(ident, str):
                    fixed.append({"op": "remove", "path": f"members[value eq {_quote(ident)}]"})
            continue
        fixed.append(op)
    return {**body, "Operations": fixed}


def paths_in_value_objects(body: JsonBody) -> JsonBody:
    """Entra ID sends a PATCH without `path` whose value object's keys are paths, not
    attribute names: `{"op": "Replace", "value": {"name.givenName": "Ann",
    "emails[type eq \\"work\\"].value": "ann@example.com"}}`. RFC 7644 §3.5.2.3 wants
    attribute names there; each such key becomes an operation of its own with that path."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed: list[Any] = []
    for op in operations:
        value = op.get("value") if isinstance(op, dict) else None
        if isinstance(op, dict) and op.get("path") in (None, "") and isinstance(value, dict):
            plain = {k: v for k, v in value.items() if "[" not in k and "." not in k}
            pathed = {k: v for k, v in value.items() if k not in plain}
            if pathed:
                if plain:
                    fixed.append({**op, "value": plain})
                fixed.extend({"op": op.get("op"), "path": k, "value": v} for k, v in pathed.items())
                continue
        fixed.append(op)
    return {**body, "Operations": fixed}


def typed_value_without_target(body: JsonBody, current: Mapping[str, Any]) -> JsonBody:
    """Entra ID sets a typed value by its filtered path, `{"op": "Replace"|"Add", "path":
    "emails[type eq \\"work\\"].value", "value": "ann@example.com"}`, also when the user
    has no work email yet. RFC 7644 §3.5.2.3 answers a filter matching nothing with 400
    `noTarget`, and the user would keep their old address; Entra expects the value to be
    added. Such an operation on a user without a value of that type becomes an add of
    `{"type": "work", "value": ...}` (`current` is the stored resource)."""
    operations = body.get("Operations")
    if not isinstance(operations, list):
        return body
    fixed: list[Any] = []
    for op in operations:
        match = _TYPED_PATH.match(op.get("path") or "") if isinstance(op, dict) else None
        if match and str(op.get("op", "")).lower() in ("add", "replace"):
            attr, kind, sub = match["attr"], match["type"], match["sub"]
            existing = _attribute(current, attr)
            has_type = any(
                isinstance(item, dict) and str(item.get("type", "")).lower() == kind.lower()
                for item in (existing if isinstance(existing, list) else [])
            )
            if not has_type:
                fixed.append(
                    {"op": "add", "path": attr, "value": [{"type": kind, sub: op.get("value")}]}
                )
                continue
        fixed.append(op)
    return {**body, "Operations": fixed}


def needs_current(body: JsonBody) -> bool:
    """Whether `typed_value_without_target` must see the stored resource."""
    operations = body.get("Operations")
    return isinstance(operations, list) and any(
        isinstance(op, dict) and isinstance(op.get("path"), str) and _TYPED_PATH.match(op["path"])
        for op in operations
    )


def unannounced_extension_schemas(body: JsonBody) -> JsonBody:
    """Entra ID creates groups with `"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"]` and no
    attribute of that second schema (Microsoft's own SCIM endpoint tutorial shows this
    request). A schema URN outside RFC 7643's namespace, with no attribute block of its
    own, is dropped; a body whose base schema is unknown, or that carries attributes of an
    unknown extension, is still refused (400)."""
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or len(schemas) < 2:
        return body
    kept = [
        urn
        for urn in schemas
        if not isinstance(urn, str) or urn.startswith("urn:ietf:params:scim:") or urn in body
    ]
    if not kept or len(kept) == len(schemas):
        return body
    return {**body, "schemas": kept}


def _attribute(resource: Mapping[str, Any], name: str) -> Any:
    return next((v for k, v in resource.items() if k.lower() == name.lower()), None)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: The rewrites every request body goes through, in order.
BODY_QUIRKS: tuple[Callable[[JsonBody], JsonBody], ...] = (
    unannounced_extension_schemas,
    lowercase_op_names,
    paths_in_value_objects,
    boolean_strings,
    remove_members_by_value,
)


def normalise_body(body: Any) -> Any:
    """Every body quirk, in order; a body that is not a JSON object is left to the
    validation that refuses it."""
    if not isinstance(body, dict):
        return body
    for quirk in BODY_QUIRKS:
        body = quirk(body)
    return body
