"""Put back what students deleted: refresh, then a targeted up, of the students named.

    python -m classroom repair --stack <class> --student ann [--student bob ...]
    python -m classroom status --stack <class> --json > status.json
    python -m classroom repair --stack <class> --status status.json      # those not ready
    python -m classroom repair --stack <class> --student ann --reset-notebooks [--yes]

For each section holding one of those students, through the Pulumi Automation
API, as `classroom up` runs sections (in parallel, with progress and a summary):

1. ``pulumi refresh --target <student's component> ... --target-dependents``: every
   provider reads what really exists; what a student deleted (a notebook, a SQL
   script, the ``AzureML`` linked service, a Synapse role) leaves the state;
2. ``pulumi up --target ... --target-dependents``: exactly what is missing is
   created again; nothing of the other students is touched.

``--reset-notebooks`` also puts the course version of every notebook and SQL
script back for those students (the up runs with
``SYNAPSE_ML_LAB_RESET_NOTEBOOKS=1``, read by the artifacts provider); a
student's published version is kept in their workspace as
``<name> (your copy YYYY-MM-DD)``. Synapse Studio saves an edit only on Publish:
what a student has not published lives in their browser, where no program can keep
it, so the question says to ask them to Publish all first. It asks first (``--yes``
to skip).

Exit code 0 when every section was repaired, 1 when a refresh or an up failed
(the summary says which students are left), 2 on a usage error (an id that is
not on the roster, an unreadable status file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from lab.config import ConfigError
from providers.synapse.artifacts import RESET_ENV

from .driver import (
    COMPONENT_TYPE,
    DriverError,
    Section,
    SectionResult,
    _project_name,
    run_class,
    summary_table,
)
from .sections import PROJECT_DIR, ClassConfig, SectionError, load_class

RECORD_AS = "repair"


def not_ready_students(document: Any, source: str) -> list[str]:
    """The students a `classroom status --json` report found not ready, in its order."""
    students = document.get("students") if isinstance(document, dict) else None
    if not isinstance(students, list):
        raise DriverError(
            f"{source} is not the output of `python -m classroom status --json` (no 'students' list)"
        )
    found: list[str] = []
    for item in students:
        if not isinstance(item, dict) or not isinstance(item.get("student"), str):
            raise DriverError(f"{source}: a student entry without a 'student' id: {item!r}")
        if item.get("ready") is False and item["student"] not in found:
            found.append(item["student"])
    return found


def read_status(path: str, stdin: Any = None) -> list[str]:
    source = "standard input" if path == "-" else path
    try:
        text = (stdin or sys.stdin).read() if path == "-" else Path(path).read_text()
        document = json.loads(text)
    except OSError as exc:
        raise DriverError(f"cannot read the status report {source}: {exc}") from exc
    except ValueError as exc:
        raise DriverError(f"the status report {source} is not JSON: {exc}") from exc
    return not_ready_students(document, source)


def repair_sections(klass: ClassConfig, students: Sequence[str], project: str) -> list[Section]:
    """The sections holding ``students``, each targeting those students' components."""
    placed = klass.sections()
    where = {sid: name for name, ids in placed.items() for sid in ids}
    unknown = [sid for sid in students if sid not in where]
    if unknown:
        raise DriverError(
            f"not on the roster of class '{klass.name}': {', '.join(unknown)} "
            f"(its students: {', '.join(sorted(where)) or 'none'})"
        )
    chosen: list[Section] = []
    for name, ids in placed.items():
        mine = [sid for sid in ids if sid in students]
        if mine:
            targets = [f"urn:pulumi:{name}::{project}::{COMPONENT_TYPE}::{sid}" for sid in mine]
            chosen.append(Section(name, ids, klass.config_file(name, ids), targets=targets))
    return chosen


def _students_of(section: Section) -> list[str]:
    return [urn.rsplit("::", 1)[1] for urn in section.urns()]


def repair(
    klass: ClassConfig,
    students: Sequence[str],
    *,
    reset_notebooks: bool = False,
    parallel: int | None = None,
    backend: str | None = None,
    console: Console | None = None,
) -> tuple[list[SectionResult], list[SectionResult], list[str]]:
    """Refresh, then up, the sections of ``students``; (refresh results, up results, students left)."""
    sections = repair_sections(klass, students, _project_name(klass.root))
    common: dict[str, Any] = dict(
        parallel=parallel, backend=backend, console=console, record_as=RECORD_AS
    )
    refreshed = run_class(klass, "refresh", sections=sections, **common)
    ok = {r.section for r in refreshed if r.status == "ok"}
    # A section whose refresh failed is not updated: its state may still hide what is missing.
    to_update = [s for s in sections if s.name in ok]
    env = {RESET_ENV: "1"} if reset_notebooks else None
    updated = run_class(klass, "up", sections=to_update, env=env, **common) if to_update else []
    done = {r.section for r in updated if r.status == "ok"}
    left = [sid for s in sections if s.name not in done for sid in _students_of(s)]
    return refreshed, updated, left


# ----------------------------------------------------------------------------- command line


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "repair",
        help="refresh and update the students named (or those not ready): put back what was deleted",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--stack", required=True, help="the class (its Pulumi.<stack>.yaml)")
    p.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="ID",
        help="a student to repair (repeat for several; default: those of --status)",
    )
    p.add_argument(
        "--status",
        metavar="FILE",
        help="without --student: repair the students this `classroom status --json` "
        "report found not ready ('-' reads it from standard input; default: none)",
    )
    p.add_argument(
        "--reset-notebooks",
        action="store_true",
        help="also put the course version of every notebook and SQL script back "
        "(the student's published version is kept as a copy; unpublished edits are not seen)",
    )
    p.add_argument("--yes", action="store_true", help="do not ask before --reset-notebooks")
    p.add_argument(
        "--parallel",
        type=int,
        help="sections at once (default: as for `classroom up`, what memory holds)",
    )
    p.add_argument(
        "--backend",
        help="state backend URL (default: as for `classroom up`, $PULUMI_BACKEND_URL, else the "
        "file backend)",
    )
    p.add_argument("--root", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
    p.set_defaults(func=main)


def confirm(question: str, ask: Callable[[str], str] = input) -> bool:
    try:
        return ask(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False


def main(args: argparse.Namespace, *, ask: Callable[[str], str] = input) -> int:
    console = Console(stderr=True, log_path=False)
    try:
        if args.student and args.status:
            raise DriverError("give --student or --status, not both")
        if args.student:
            students = list(dict.fromkeys(args.student))
        elif args.status:
            students = read_status(args.status)
        else:
            raise DriverError(
                "name the students (--student ID, repeatable) or give the report of "
                "`python -m classroom status --stack "
                f"{args.stack} --json` (--status FILE) to repair those not ready"
            )
        klass = load_class(args.stack, args.root)
        if not students:
            console.print("nothing to repair: every student in the status report is ready")
            return 0
        repair_sections(klass, students, _project_name(klass.root))  # unknown ids: before asking
        if args.reset_notebooks and not args.yes:
            question = (
                f"Put the course version of every notebook and SQL script back for "
                f"{len(students)} student(s) ({', '.join(students)})? Their published versions "
                "are kept as '<name> (your copy <date>)'; edits they have not published live only "
                "in their browser and are not kept: ask them to Publish all first."
            )
            if not confirm(question, ask):
                console.print("nothing done (answer y, or pass --yes)")
                return 1
        console.print(
            f"repairing {len(students)} student(s) of class '{klass.name}': {', '.join(students)}"
            + (" (notebooks reset to the course version)" if args.reset_notebooks else "")
        )
        refreshed, updated, left = repair(
            klass,
            students,
            reset_notebooks=args.reset_notebooks,
            parallel=args.parallel,
            backend=args.backend,
            console=console,
        )
    except (SectionError, ConfigError, DriverError) as exc:
        console.print(f"error: {exc}", markup=False, soft_wrap=True)
        return 2
    out = Console()
    out.print(summary_table("refresh", refreshed))
    if updated:
        out.print(summary_table("up", updated))
    for absent in (r.section for r in refreshed if r.status == "absent"):
        console.print(
            f"section {absent} has no stack yet: nothing of it was deployed; run "
            f"`python -m classroom up --stack {args.stack} --section {absent}`",
            markup=False,
            soft_wrap=True,
        )
    if left:
        console.print(
            f"not repaired: {', '.join(left)}; see the errors above and the logs in "
            f".classroom/{args.stack}/logs/, fix the cause and run `python -m classroom repair "
            f"--stack {args.stack} " + " ".join(f"--student {sid}" for sid in left) + "` again",
            markup=False,
            soft_wrap=True,
        )
        return 1
    console.print(
        f"repaired: {', '.join(students)}; check with `python -m classroom status --stack {args.stack}`"
    )
    return 0
