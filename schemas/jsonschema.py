"""JSON Schema files of the usage event contract, for producers in other languages.

`python -m schemas.jsonschema` rewrites schemas/json/; a test fails when the files and the models differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from omnimeter.schemas.events import UsageEvent

JSON_DIR = Path(__file__).parent / "json"


def documents() -> dict[str, dict[str, Any]]:
    single = TypeAdapter(UsageEvent).json_schema(mode="validation")
    single = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://omnimeter.dev/schemas/usage-event.v1.json",
        "title": "omnimeter usage event (CloudEvents 1.0 structured mode)",
        "description": "Kafka record value with content-type application/cloudevents+json; key = tenant id.",
        **single,
    }
    batch = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://omnimeter.dev/schemas/usage-batch.v1.json",
        "title": "omnimeter usage event batch",
        "description": "Kafka record value with content-type application/cloudevents-batch+json: "
        "events of one tenant; key = tenant id.",
        "type": "array",
        "minItems": 1,
        "items": {"$ref": "usage-event.v1.json"},
    }
    return {"usage-event.v1.json": single, "usage-batch.v1.json": batch}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, doc in documents().items():
        path = directory / name
        path.write_text(render(doc), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in export(Path(sys.argv[1]) if len(sys.argv) > 1 else JSON_DIR):
        print(p)
