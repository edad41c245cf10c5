"""The exported JSON Schema files match the models, and accept and refuse what the models do."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema
from referencing import Registry, Resource

from omnimeter.cli.traffic import Traffic, build_world
from omnimeter.schemas.jsonschema import JSON_DIR, documents, render


def test_files_are_in_step_with_models() -> None:
    for name, doc in documents().items():
        on_disk = (JSON_DIR / name).read_text(encoding="utf-8")
        assert on_disk == render(doc), f"{name} is stale: run python -m schemas.jsonschema"


def _validator(name: str) -> jsonschema.Draft202012Validator:
    docs = documents()
    registry = Registry().with_resources(
        (f"https://omnimeter.dev/schemas/{n}", Resource.from_contents(d)) for n, d in docs.items()
    )
    return jsonschema.Draft202012Validator(docs[name], registry=registry, format_checker=jsonschema.FormatChecker())


def test_generated_traffic_conforms_to_the_published_schema() -> None:
    traffic = Traffic(build_world(5), seed=5, start=datetime.now(UTC) - timedelta(hours=1))
    envs = [traffic.event() for _ in range(500)]
    single, batch = _validator("usage-event.v1.json"), _validator("usage-batch.v1.json")
    for env in envs:
        single.validate(env)
    batch.validate(envs[:50])
    assert not batch.is_valid([])


def test_schema_refuses_what_the_models_refuse() -> None:
    traffic = Traffic(build_world(5), seed=6, start=datetime.now(UTC) - timedelta(hours=1))
    env = json.loads(json.dumps(traffic.event()))
    v = _validator("usage-event.v1.json")
    assert not v.is_valid({**env, "type": "message.teleported"})
    assert not v.is_valid({**env, "specversion": "0.3"})
    assert not v.is_valid({k: val for k, val in env.items() if k != "subject"})
