"""Request validation from the discovery documents bundled with google-api-python-client.

The sandbox accepts exactly the parameters the real method declares (plus the API's common
ones), requires what it marks required, and checks integer bounds and enums, so a
connector that sends something the real API would reject fails against the sandbox too.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import googleapiclient

from sandbox.errors import ApiError

DOCUMENTS = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents"


@cache
def document(api: str) -> dict[str, Any]:
    return json.loads((DOCUMENTS / f"{api}.json").read_text(encoding="utf-8"))


def validate(api: str, resource: str, method: str, params: dict[str, list[str]]) -> None:
    doc = document(api)
    declared: dict[str, Any] = doc["resources"][resource]["methods"][method]["parameters"]
    common: dict[str, Any] = doc.get("parameters", {})
    for name, values in params.items():
        spec = declared.get(name) or common.get(name)
        if spec is None:
            raise ApiError(400, "badRequest", f"Unknown parameter: {name}")
        if len(values) > 1 and not spec.get("repeated"):
            raise ApiError(400, "badRequest", f"Parameter {name} given more than once")
        for value in values:
            _check_value(name, value, spec)
    for name, spec in declared.items():
        if spec.get("required") and name not in params:
            raise ApiError(400, "required", f"Required parameter: {name}")


def _check_value(name: str, value: str, spec: dict[str, Any]) -> None:
    if spec.get("type") == "integer":
        try:
            number = int(value)
        except ValueError:
            raise ApiError(400, "invalidParameter", f"Invalid value for {name}: {value}") from None
        low, high = spec.get("minimum"), spec.get("maximum")
        if (low is not None and number < int(low)) or (high is not None and number > int(high)):
            raise ApiError(
                400,
                "invalidParameter",
                f"Invalid value for {name}: {value} (allowed {low}..{high})",
            )
    elif spec.get("type") == "boolean" and value not in ("true", "false"):
        raise ApiError(400, "invalidParameter", f"Invalid boolean value for {name}: {value}")
    elif "enum" in spec and value not in spec["enum"]:
        raise ApiError(400, "invalidParameter", f"Invalid value for {name}: {value}")
