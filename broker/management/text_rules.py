"""The few rules about free text the management API accepts, written once as patterns so the
OpenAPI document states exactly what the use cases enforce (schemathesis holds us to it)."""

from __future__ import annotations

import re

_CONTROL = r"\x00-\x1f\x7f-\x9f"
#: Some character that is neither a control character nor white space.
NAME_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
#: No control characters and no white space at either end.
KEY_PATTERN = rf"^[^\s{_CONTROL}]([^{_CONTROL}]*[^\s{_CONTROL}])?$"

_NAME = re.compile(NAME_PATTERN)
_KEY = re.compile(KEY_PATTERN)


def is_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))


def is_key(text: str) -> bool:
    return bool(_KEY.fullmatch(text))


def tidy_name(text: str) -> str:
    """Runs of white space become one space, ends trimmed: `  Acme   Inc ` is `Acme Inc`."""
    return " ".join(text.split())
