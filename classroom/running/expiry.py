"""Teardown at expiry: destroy every section of every class whose lab:expiresOn has passed.

    python -m classroom expired (--stack <class> ... | --all) [--today YYYY-MM-DD]
                                [--destroy] [--json] [--summary FILE]

Without --destroy it lists what has expired; with it, it destroys exactly those
sections (all sections of an expired class, through the same driver as
`python -m classroom destroy`) and reports what it destroyed. The daily
workflow (.github/workflows/expire.yml) runs it with `--all`, so a forgotten
class stops costing money without anyone remembering it. A class's sections
share its config, so they expire together; a class config is read from the
repository, so keep `Pulumi.<class>.yaml` until the class has been destroyed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rich.console import Console

from lab.config import ConfigError

from .driver import (
    DriverError,
    SectionResult,
    format_changes,
    plan_sections,
    run_class,
    summary_table,
)
from .sections import GENERATED_HEADER, PROJECT_DIR, SectionError, load_class


def class_stacks(root: Path = PROJECT_DIR) -> list[str]:
    """Every class config in the project: Pulumi.<stack>.yaml, not the generated section files or locks."""
    generated = GENERATED_HEADER.split("{", 1)[0]
    found = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi.") : -len(".yaml")]
        if stack.endswith(".sections") or path.read_text().startswith(generated):
            continue
        found.append(stack)
    return found


@dataclass
class ClassExpiry:
    name: str
    expires_on: str | None = None
    expired: bool = False
    sections: list[str] = field(default_factory=list)
    results: list[SectionResult] = field(default_factory=list)
    error: str = ""


def find_expired(classes: list[str], today: dt.date, root: Path = PROJECT_DIR) -> list[ClassExpiry]:
    """Each class with its expiry date and, when it has passed, the sections to destroy."""
    found = []
    for name in classes:
        entry = ClassExpiry(name)
        try:
            klass = load_class(name, root)
        except (SectionError, ConfigError) as exc:
            # One broken class config must not keep the others running up costs.
            entry.error = str(exc)
        else:
            entry.expires_on = klass.settings.expires_on.isoformat()
            entry.expired = klass.settings.expired(today)
            if entry.expired:
                entry.sections = list(klass.sections())
        found.append(entry)
    return found


def destroy_expired(
    entries: list[ClassExpiry],
    root: Path = PROJECT_DIR,
    *,
    parallel: int | None = None,
    backend: str | None = None,
    console: Console | None = None,
) -> None:
    for entry in entries:
        if not entry.expired:
            continue
        klass = load_class(entry.name, root)
        chosen = [s for s in plan_sections(klass) if s.name in entry.sections]
        try:
            entry.results = run_class(
                klass,
                "destroy",
                sections=chosen,
                parallel=parallel,
                backend=backend,
                console=console,
            )
        except DriverError as exc:
            entry.error = str(exc)


def report(entries: list[ClassExpiry], today: dt.date) -> dict:
    return {
        "today": today.isoformat(),
        "classes": {
            e.name: {
                "expiresOn": e.expires_on,
                "expired": e.expired,
                "error": e.error or None,
                "sections": {
                    s: next((asdict(r) for r in e.results if r.section == s), None)
                    for s in e.sections
                },
            }
            for e in entries
        },
    }


def markdown(entries: list[ClassExpiry], today: dt.date, destroyed: bool) -> str:
    lines = [
        f"## Expired classes on {today.isoformat()}",
        "",
        "| class | expires on | section | result | changes |",
        "|---|---|---|---|---|",
    ]
    for e in entries:
        if e.error:
            lines.append(f"| {e.name} | | | config error: {e.error.splitlines()[0]} | |")
        elif not e.expired:
            lines.append(f"| {e.name} | {e.expires_on} | | kept (not expired) | |")
        for s in e.sections:
            r = next((r for r in e.results if r.section == s), None)
            status = (r.status if r else "destroy failed to start") if destroyed else "expired"
            lines.append(
                f"| {e.name} | {e.expires_on} | {s} | {status} | {format_changes(r.changes) if r else ''} |"
            )
    return "\n".join(lines) + "\n"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "expired",
        help="list (and --destroy) the sections of classes whose lab:expiresOn has passed",
        description=__doc__.split("\n\n")[0],
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--stack", action="append", help="a class (repeatable; default: none, give --all instead)"
    )
    which.add_argument(
        "--all", action="store_true", help="every class config Pulumi.<class>.yaml in the project"
    )
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=None,
        help="the date to compare with (default: today, UTC)",
    )
    parser.add_argument("--destroy", action="store_true", help="destroy the expired sections")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--summary",
        type=Path,
        metavar="FILE",
        help="append a Markdown report to this file, e.g. $GITHUB_STEP_SUMMARY (default: none)",
    )
    parser.add_argument(
        "--parallel", type=int, help="sections at once (default: what memory holds)"
    )
    parser.add_argument(
        "--backend", help="state backend URL (default: $PULUMI_BACKEND_URL, else the file backend)"
    )
    parser.add_argument("--root", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    console = Console(stderr=True, log_path=False)
    today = args.today or dt.datetime.now(dt.UTC).date()
    classes = class_stacks(args.root) if args.all else args.stack
    entries = find_expired(classes, today, args.root)
    if args.destroy:
        destroy_expired(
            entries, args.root, parallel=args.parallel, backend=args.backend, console=console
        )
    if args.summary:
        with args.summary.open("a", encoding="utf-8") as handle:
            handle.write(markdown(entries, today, args.destroy))
    if args.json:
        print(json.dumps(report(entries, today), indent=2))
    else:
        for e in entries:
            if e.error:
                console.print(f"{e.name}: config error: {e.error}", markup=False)
            elif e.expired:
                console.print(
                    f"{e.name}: expired on {e.expires_on}: sections {', '.join(e.sections)}",
                    markup=False,
                )
                if e.results:
                    Console().print(summary_table(f"destroy {e.name}", e.results))
            else:
                console.print(f"{e.name}: runs until {e.expires_on}", markup=False)
    failed = any(e.error for e in entries) or any(
        r.status == "failed" for e in entries for r in e.results
    )
    return 1 if failed else 0
