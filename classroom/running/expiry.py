"""Teardown at expiry: destroy every section of every class whose lab:expiresOn has passed.

    python -m classroom expired (--stack <class> ... | --all) [--today YYYY-MM-DD]
                                [--destroy] [--json] [--summary FILE]
    python -m classroom expired --all --active    # the classes still running, as a JSON list

Without --destroy it lists what has expired; with it, it destroys exactly those
sections (all sections of an expired class, through the same driver as
`python -m classroom destroy`) and reports what it destroyed. A section whose
state holds no resource any more (`pulumi stack export`), or whose stack does not
exist, is not destroyed again: it is reported "already destroyed", and a class
whose sections are all so is reported done. The daily workflow
(.github/workflows/expire.yml) runs it with `--all`, so a forgotten class stops
costing money without anyone remembering it. With --active it prints the other
side instead: the classes whose config reads and has not expired, as a JSON list,
which the evening workflow (.github/workflows/pause.yml) pauses. A class's
sections share its config, so they expire together; a class config is read from
the repository, so keep `Pulumi.<class>.yaml` until the class has been destroyed.

Exit code: 0 when all went well, 1 when a destroy failed, 3 when (nothing failed
but) a class config could not be read: the other classes were still listed and
destroyed, so the workflow can tell "one config is broken" from a crash.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pulumi import automation as auto
from rich.console import Console

from lab.config import ConfigError

from .driver import (
    ClassRun,
    DriverError,
    Section,
    SectionResult,
    format_changes,
    plan_sections,
    run_class,
    stack_resource_count,
    summary_table,
)
from .sections import GENERATED_HEADER, PROJECT_DIR, ClassConfig, SectionError, load_class


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
    # Expired and every section's state already empty: nothing left to destroy.
    done: bool = False


ALREADY_DESTROYED = "already destroyed"
# Exit code when the only problem is a class config that could not be read.
CONFIG_ERROR_EXIT = 3


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
            holding = sections_holding_resources(klass, chosen, backend=backend, console=console)
            empty = [
                SectionResult(s.name, "destroy", ALREADY_DESTROYED, len(s.students))
                for s in chosen
                if s.name not in holding
            ]
            entry.done = not holding
            ran = (
                run_class(
                    klass,
                    "destroy",
                    sections=[s for s in chosen if s.name in holding],
                    parallel=parallel,
                    backend=backend,
                    console=console,
                )
                if holding
                else []
            )
            entry.results = sorted([*empty, *ran], key=lambda r: entry.sections.index(r.section))
        except DriverError as exc:
            entry.error = str(exc)


def sections_holding_resources(
    klass: ClassConfig, sections: list[Section], *, backend: str | None, console: Console | None
) -> set[str]:
    """The sections whose stack exists and whose state still holds a resource.

    A destroyed stack keeps its (empty) state; one never deployed has none. Either
    way there is nothing to destroy, and a daily job must not run the engine,
    install plugins and write a new update into the history for it every day.
    """
    runner = ClassRun(klass, "destroy", backend=backend, parallel=1, console=console)
    holding = set()
    try:
        for name, stack in runner.prepare(sections).items():
            if stack is not None and stack_resource_count(stack):
                holding.add(name)
    except auto.CommandError as exc:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        raise DriverError(
            f"could not read the state of class {klass.name}: "
            + (lines[-1].strip() if lines else "`pulumi stack export` failed")
        ) from exc
    return holding


def active(entries: list[ClassExpiry]) -> list[str]:
    """The classes still running: their config reads and lab:expiresOn has not passed."""
    return sorted(e.name for e in entries if not e.error and not e.expired)


def report(entries: list[ClassExpiry], today: dt.date) -> dict:
    return {
        "today": today.isoformat(),
        "classes": {
            e.name: {
                "expiresOn": e.expires_on,
                "expired": e.expired,
                "done": e.done,
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
    broken = [e.name for e in entries if e.error and not e.expired]
    if broken:
        # Said first: these classes were neither checked nor destroyed.
        lines[1:1] = [
            "",
            f"**Class configs that could not be read (fix them; their classes were neither "
            f"checked for expiry nor destroyed): {', '.join(broken)}**",
        ]
    for e in entries:
        if e.error and not e.expired:
            lines.append(f"| {e.name} | | | config error: {e.error.splitlines()[0]} | |")
        elif e.error:
            lines.append(f"| {e.name} | {e.expires_on} | | failed: {e.error.splitlines()[0]} | |")
        elif e.done:
            lines.append(f"| {e.name} | {e.expires_on} | | done (already destroyed) | |")
            continue
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
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--destroy", action="store_true", help="destroy the expired sections")
    what.add_argument(
        "--active",
        action="store_true",
        help="print the classes that have not expired as a JSON list (for the pause workflow)",
    )
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
    if args.active:
        for e in entries:
            if e.error:  # said, but the other classes are still listed (and paused)
                console.print(f"{e.name}: config error: {e.error}", markup=False)
        print(json.dumps(active(entries)))
        return 0
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
                what = "destroy failed" if e.expired else "config error"
                console.print(f"{e.name}: {what}: {e.error}", markup=False)
            elif e.done:
                console.print(
                    f"{e.name}: expired on {e.expires_on}: done (every section already destroyed)",
                    markup=False,
                )
            elif e.expired:
                console.print(
                    f"{e.name}: expired on {e.expires_on}: sections {', '.join(e.sections)}",
                    markup=False,
                )
                if e.results:
                    Console().print(summary_table(f"destroy {e.name}", e.results))
            else:
                console.print(f"{e.name}: runs until {e.expires_on}", markup=False)
    failed = any(e.error and e.expired for e in entries) or any(
        r.status == "failed" for e in entries for r in e.results
    )
    if failed:
        return 1
    return CONFIG_ERROR_EXIT if any(e.error for e in entries) else 0
