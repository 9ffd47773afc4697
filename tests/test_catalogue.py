"""The published event catalogue (events/) and the code agree."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jsonschema import Draft202012Validator

from hearing_core.archive import open_archive
from hearing_core.catalogue import catalogue_dir, schemas, validate_record
from hearing_core.domain import Hearing
from hearing_core.interchange import read_lines

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"


def _event_fields(cls: type) -> set[str]:
    skip = {"originator_id", "originator_version", "timestamp", "originator_topic", "digest"}
    return {f for f in cls.__dataclass_fields__ if f not in skip} - {"hearing"}


def test_catalogue_is_read_from_the_published_folder() -> None:
    assert catalogue_dir().resolve() == EVENTS.resolve()


def test_every_event_type_has_a_schema_and_no_schema_is_orphaned() -> None:
    assert set(Hearing.EVENT_TYPES) == set(schemas())


def test_schema_fields_match_event_class_fields() -> None:
    common = {"type", "hearing", "seq", "at", "digest"}
    for name, cls in Hearing.EVENT_TYPES.items():
        schema_fields = set(schemas()[name]["properties"]) - common
        assert schema_fields == _event_fields(cls), name


def test_schemas_are_valid_json_schema_and_versioned_by_file_name() -> None:
    for path in sorted((EVENTS / "schema").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        m = re.match(r"^([A-Za-z]+)\.v(\d+)\.json$", path.name)
        assert m, path.name
        assert schema["title"] == m[1]
        assert schema["x-version"] == int(m[2])
        assert schema["properties"]["type"] == {"const": m[1]}


def test_every_sample_validates_and_imports(tmp_path: Path) -> None:
    samples = sorted((EVENTS / "samples").glob("*.jsonl"))
    assert samples
    for sample in samples:
        with sample.open("rb") as f:
            records = list(read_lines(f, sample.name))
        for _, record in records:
            validate_record(record)
        archive = open_archive(str(tmp_path / f"{sample.stem}.db"))
        assert archive.import_records((sample.name, n, r) for n, r in records) == len(records)


def test_sample_covers_every_event_type() -> None:
    types = set()
    for sample in (EVENTS / "samples").glob("*.jsonl"):
        types |= {
            json.loads(line)["type"] for line in sample.read_text(encoding="utf-8").splitlines()
        }
    assert types == set(schemas())


def test_events_doc_lists_every_type_and_field() -> None:
    doc = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    for name, schema in schemas().items():
        assert f"## {name}" in doc, name
        for field in schema["properties"]:
            assert f"`{field}`" in doc, f"{name}.{field}"


def test_events_doc_is_generated_from_the_schemas() -> None:
    from hearing_core.catalogue_doc import render

    assert (ROOT / "docs" / "events.md").read_text(encoding="utf-8") == render(), (
        "run: python -m hearing_core.catalogue_doc > docs/events.md"
    )
