"""Render ``docs/events.md``, the human-readable event catalogue, from the JSON Schemas.

Run ``python -m hearing_core.catalogue_doc > docs/events.md`` after changing a
schema; a test fails while the two disagree.
"""

from __future__ import annotations

import json
from typing import Any

from hearing_core.catalogue import catalogue_dir, schemas

INTRO = """# Event catalogue

Every action of a hearing is recorded as one immutable event. This page is
generated from the JSON Schemas in `events/schema/` (one file per event type
and version, `<Type>.v<N>.json`), which are also what `hearing import` and
`hearing record` validate against. Sample records: `events/samples/`.

## Records and the interchange format

The archival format is JSON Lines: one event per line, UTF-8.

```json
{"type": "SegmentOpened", "hearing": "imrf-2022-msh", "seq": 4, "at": "2022-05-16T10:00:00-04:00", "segment": "opening", "digest": "…"}
```

- `type`, `hearing` (the hearing's slug) and `at` (ISO 8601 with a UTC offset) are on every record.
- `seq` is the event's 1-based position in its hearing's record. It is optional on import; when
  present it must be the next position, so a file imported twice or out of order is refused
  rather than duplicated. Export always writes it.
- `digest` is the SHA-256 chain digest: `sha256(previous digest + "\\n" + canonical record)`,
  where the canonical record is the record without `digest`, keys sorted, no whitespace, UTF-8,
  and the first event's previous digest is 64 zeros. Export always writes it; import checks it
  when present.
- Optional fields are left out when empty. Times are written as recorded, with their offset.
- Nothing is ever edited: a `CorrectionIssued` names an earlier event by `seq` and gives new
  values for some of its fields.
- Import then export gives back the same lines (the sample proves it in the tests).

Vocabularies: stakeholder groups (default: the GCM groups, A/RES/73/195 paras 15 and 44),
regions, roles, GCM objectives 1-23 (A/RES/73/195 para 16) and SG-report recommendation
areas 1-4 (A/76/642) are listed in `hearing_core/taxonomy.py`.
"""


def _type_of(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    for combinator in ("oneOf", "anyOf"):
        if combinator in prop:
            return " or ".join(_type_of(p) for p in prop[combinator])
    if str(prop.get("pattern", "")).startswith("^enc1:"):
        return "encrypted envelope"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"array of {_type_of(prop.get('items', {}))}"
    if prop.get("format") == "date-time":
        return "date-time with offset"
    if kind == "integer" and "minimum" in prop and "maximum" in prop:
        return f"integer {prop['minimum']}-{prop['maximum']}"
    return str(kind)


def render() -> str:
    """The whole catalogue page."""
    out = [INTRO]
    files = {p.name.split(".")[0]: p.name for p in (catalogue_dir() / "schema").glob("*.json")}
    for name, schema in schemas().items():
        required = set(schema.get("required", ()))
        out.append(f"## {name}\n")
        out.append(f"{schema['description']} Schema: `events/schema/{files[name]}`.\n")
        out.append("| field | type | required | notes |")
        out.append("|---|---|---|---|")
        for field, prop in schema["properties"].items():
            note = prop.get("description", "")
            for alternative in prop.get("anyOf", ()):
                note = note or alternative.get("description", "")
            out.append(
                f"| `{field}` | {_type_of(prop)} | {'yes' if field in required else ''} | {note} |"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
