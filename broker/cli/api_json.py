"""What `--json` prints for a resource the management API also answers: the API's own
response model, dumped as the API dumps it, so a field cannot be named one way at the
command line and another way over HTTP."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel


def api_json(model: BaseModel) -> dict[str, Any]:
    """The object the API's JSON body holds for `model` (`dispatch.py` writes
    `model_dump_json(by_alias=True)`)."""
    data: dict[str, Any] = json.loads(model.model_dump_json(by_alias=True))
    return data
