"""JSON job (de)serialization for arq: untrusted bytes in Redis are never unpickled."""

from __future__ import annotations

from typing import Any

import orjson


def serialize(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj)


def deserialize(data: bytes) -> dict[str, Any]:
    value = orjson.loads(data)
    if not isinstance(value, dict):
        raise ValueError("arq job payload is not a JSON object")
    return value
