"""Speaking time and turns per language of delivery: an example hearing_core plugin."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hearing_core import Projection, RecordedEvent, ReportRequest, escape_markdown, hookimpl

TIMED = ("language", "at", "ended_at")  # the fields of a turn that matter here


def _timed(turn: dict[str, Any]) -> dict[str, Any]:
    span = datetime.fromisoformat(turn["ended_at"]) - datetime.fromisoformat(turn["at"])
    return {**turn, "seconds": round(span.total_seconds())}


class LanguageTime(Projection):
    name = "language_time"
    description = "Speaking seconds and turns per language of delivery, with each one's share"
    types = frozenset({"InterventionDelivered", "CorrectionIssued"})
    tables = {
        "language_time_turns": {"hearing": str, "seq": int, "language": str, "at": str,
                                "ended_at": str, "seconds": int, "note": str},
    }  # fmt: skip
    formats = ("markdown", "json")

    def create_tables(self, db: Any) -> None:
        for table, columns in self.tables.items():
            db[table].create(dict(columns), pk=("hearing", "seq"), if_not_exists=True)

    def handle(self, event: RecordedEvent, db: Any) -> None:
        turns = db["language_time_turns"]
        if event.type == "InterventionDelivered":
            turns.insert(_timed({k: event[k] for k in ("hearing", "seq", *TIMED)}))
            return
        # CorrectionIssued: fold the changed fields into the turn it corrects, with a note
        key = [event.hearing, event["corrects"]]
        old = next(turns.rows_where("hearing = ? and seq = ?", key), None)
        changes = {k: v for k, v in event["changes"].items() if k in TIMED}
        if old is None or not changes:
            return  # a correction of something this report does not show
        note = f"{', '.join(sorted(changes))} corrected by #{event.seq}: {event['reason']}"
        turns.update(
            key, _timed({**old, **changes, "note": "; ".join(filter(None, [old["note"], note]))})
        )

    def render(self, db: Any, request: ReportRequest) -> str:
        rows = db.execute(
            "select language, count(*), sum(seconds) from language_time_turns"
            " where hearing = ? group by language order by 3 desc, 1",
            [request.hearing],
        ).fetchall()
        total = sum(r[2] for r in rows) or 1
        langs = [{"language": lang, "turns": n, "seconds": s, "share": round(s / total, 4)}
                 for lang, n, s in rows]  # fmt: skip
        notes = db.execute(
            "select seq, note from language_time_turns"
            " where hearing = ? and note is not null order by seq",
            [request.hearing],
        ).fetchall()
        if request.format == "json":
            corrections = [{"seq": seq, "note": note} for seq, note in notes]
            out = {"hearing": request.hearing, "languages": langs, "corrections": corrections}
            return json.dumps(out, ensure_ascii=False, indent=2) + "\n"
        lines = [f"# Speaking time by language: {escape_markdown(request.hearing)}", "",
                 "| language | turns | seconds | share |", "|---|---:|---:|---:|"]  # fmt: skip
        for r in langs:
            lang = escape_markdown(r["language"])
            lines.append(f"| {lang} | {r['turns']} | {r['seconds']} | {r['share']:.1%} |")
        lines += [""] + [f"- turn {seq}: {escape_markdown(note)}" for seq, note in notes]
        return "\n".join(lines).rstrip() + "\n"


@hookimpl
def register_projections(register: Any) -> None:
    register(LanguageTime())


@hookimpl
def register_commands(cli: Any) -> None:
    from hearing_core import report_command  # imported here to keep `hearing --help` fast

    help = "Speaking time and turns per language of delivery."
    cli.add_command(report_command("language_time", name="language-time", help=help))
