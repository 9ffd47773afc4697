"""Speaking time and turns per language of delivery: an example hearing_core plugin."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from hearing_core import Projection, ReportRequest, Table, escape_markdown, handles, hookimpl

if TYPE_CHECKING:  # annotations only: importing the plugin stays cheap
    from hearing_core import Correction, RecordedEvent

TIMED = ("language", "at", "ended_at")  # the fields of a turn that matter here


def _turn(r: Any, note: str | None = None) -> dict[str, Any]:
    """A turn's row from an (already corrected) intervention record."""
    span = datetime.fromisoformat(r["ended_at"]) - datetime.fromisoformat(r["at"])
    return {"hearing": r["hearing"], "seq": r["seq"], **{k: r[k] for k in TIMED},
            "seconds": round(span.total_seconds()), "note": note}  # fmt: skip


class LanguageTime(Projection):
    name = "language_time"
    version = 2
    description = "Speaking seconds and turns per language of delivery, with each one's share"
    tables = {"language_time_turns": Table({"hearing": str, "seq": int, "language": str, "at": str,
                                            "ended_at": str, "seconds": int, "note": str},
                                           pk=("hearing", "seq"))}  # fmt: skip
    formats = ("markdown", "json")

    @handles("InterventionDelivered")
    def turns(self, events: list[RecordedEvent], db: Any) -> None:
        db["language_time_turns"].insert_all(_turn(e) for e in events)

    @handles("CorrectionIssued")
    def corrections(self, corrections: list[Correction], db: Any) -> None:
        turns = db["language_time_turns"]
        for c in corrections:
            changed = sorted(set(c.after) & set(TIMED))
            if c.target_type != "InterventionDelivered" or not changed:
                continue  # a correction of something this report does not show
            # c.record is the corrected intervention: its row is derived again, noted.
            earlier = turns.get((c.hearing, c.target_seq))["note"]
            note = f"{', '.join(changed)} corrected by #{c.seq}: {c.reason}"
            turns.insert(_turn(c.record, "; ".join(filter(None, [earlier, note]))), replace=True)

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
