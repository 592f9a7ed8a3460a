"""One command for a class: every section through the Pulumi Automation API.

    python -m classroom up|preview|refresh|destroy --stack <class>
        [--section <stack> | --student <id>] [--retry-failed] [--parallel N] [--backend URL]

Each section is a stack of this program (classroom/sections.py); this runs the
real engine on each through ``pulumi.automation`` with the CLI found on PATH:
sections in parallel up to a bound that fits the machine's memory (every
section starts its own azure-native plugin process), live progress per section
from the engine's events, a summary table at the end, the results recorded in
.classroom/<class>/results.json so `--retry-failed` runs only the sections that
failed last time, and exit code 1 when any section failed.

Stacks are created or selected one after the other before anything runs in
parallel: parallel `stack init`/`stack select` in one workspace can corrupt its
settings (pulumi/pulumi#8186). The operations themselves name their stack
(`--stack`) and their config file (`--config-file`) and select nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml
from pulumi import automation as auto
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from classroom.stackfile import config_errors
from lab.config import ConfigError

from .sections import PROJECT_DIR, WORK_DIR, ClassConfig, SectionError, load_class

OPERATIONS = ("up", "preview", "refresh", "destroy")
# What one section costs in memory while it runs: the engine, the program
# (about 200 MiB for 25 students under the real SDK, bench/README.md part 1),
# the azure-native plugin (its schema alone is several hundred MiB) and the
# random and dynamic-provider plugins. A conservative figure: the bound is
# about not swapping, not about squeezing the last section in.
MEMORY_PER_SECTION = 1536 * 2**20
# Resources the engine steps through per student and per stack (the stack, its
# default providers, the subscription's setup: registrations and three custom role
# definitions); the progress total until the engine reports the real count.
# Checked against the program in tests/classroom/.
# 35, the cost guard's schedule and role on the pool, the workspace's Entra admin, and the
# lab-progress diagnostics (a component and a setting on each of the workspace, Spark pool
# and SQL pool).
RESOURCES_PER_STUDENT = 42
RESOURCES_PER_STACK = 8
COMPONENT_TYPE = "synapse-ml-lab:lab:LabEnvironment"


class DriverError(Exception):
    pass


def available_memory() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def default_parallel(memory: int | None = None, cpus: int | None = None) -> int:
    """Sections at once: as many as memory holds, at most 4 per core (they mostly wait on Azure)."""
    memory = available_memory() if memory is None else memory
    cpus = cpus or os.cpu_count() or 1
    return max(1, min(memory // MEMORY_PER_SECTION, 4 * cpus))


def pulumi_command() -> auto.PulumiCommand:
    """The CLI on PATH, through the Automation API (the real one, or a stand-in in tests)."""
    found = shutil.which("pulumi")
    if not found:
        raise DriverError("the Pulumi CLI is not on PATH (see README, Prerequisites)")
    path = Path(found).resolve()
    root = str(path.parent.parent) if path.parent.name == "bin" and path.name == "pulumi" else None
    return auto.PulumiCommand(root=root, skip_version_check=True)


def default_backend(root: Path) -> str:
    """PULUMI_BACKEND_URL when set (e.g. azblob://<container>), else the local file backend."""
    return os.environ.get("PULUMI_BACKEND_URL") or f"file://{root / '.pulumi-state'}"


def stack_resource_count(stack: auto.Stack) -> int:
    """How many resources the stack's state holds (`pulumi stack export`): 0 once destroyed.

    `destroy` deletes every resource, the stack's own `pulumi:pulumi:Stack` too, and
    keeps the stack with an empty `deployment.resources` (pkg/cmd/pulumi/stack/
    stack_export.go writes the checkpoint's deployment as it is).
    """
    deployment = stack.export_stack().deployment or {}
    return len(deployment.get("resources") or [])


@dataclass
class Section:
    name: str
    students: list[str]
    config_file: Path
    # One student's environment only (--student): its component and everything under it.
    target: str | None = None
    # Several students' environments (classroom repair): each component and its children.
    targets: list[str] = field(default_factory=list)

    def urns(self) -> list[str]:
        return self.targets or ([self.target] if self.target else [])


@dataclass
class SectionResult:
    section: str
    operation: str
    # ok | failed | absent (destroy/refresh of a stack that does not exist) | will be removed
    # (preview of a section whose students were all removed) | removed (its `up`: destroyed,
    # its config and lock entry gone)
    status: str
    students: int
    seconds: float = 0.0
    changes: dict[str, int] = field(default_factory=dict)
    resources: int = 0
    error: str = ""
    finished: str = ""


def plan_sections(
    klass: ClassConfig,
    *,
    section: str | None = None,
    student: str | None = None,
    project: str = "synapse-ml-lab",
) -> list[Section]:
    """The sections to act on (all, one, or the one holding a student), with their config files."""
    sections = klass.sections()
    chosen: list[Section] = []
    for name, ids in sections.items():
        if section and name != section:
            continue
        target = None
        if student:
            if student not in ids:
                continue
            target = f"urn:pulumi:{name}::{project}::{COMPONENT_TYPE}::{student}"
        chosen.append(Section(name, ids, klass.config_file(name, ids), target))
    if section and not chosen:
        raise DriverError(
            f"class '{klass.name}' has no section '{section}'; its sections: {', '.join(sections)}"
        )
    if student and not chosen:
        raise DriverError(f"student '{student}' is not on the roster of class '{klass.name}'")
    return chosen


class Results:
    """Last result per operation and section, in .classroom/<class>/results.json."""

    def __init__(self, root: Path, class_stack: str):
        self.path = root / WORK_DIR / class_stack / "results.json"
        self.lock = threading.Lock()

    def load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}

    def failed(self, operation: str) -> list[str]:
        return [
            name
            for name, r in self.load().get(operation, {}).items()
            if r.get("status") == "failed"
        ]

    def record(self, result: SectionResult) -> None:
        with self.lock:
            data = self.load()
            data.setdefault(result.operation, {})[result.section] = asdict(result)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True))
            tmp.replace(self.path)


class SectionProgress:
    """Counts a section's resource steps from engine events: done / total."""

    def __init__(self, progress: Progress, section: Section, previous: int):
        estimate = RESOURCES_PER_STACK + RESOURCES_PER_STUDENT * (
            len(section.urns()) or len(section.students)
        )
        self.total = max(previous, estimate)
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.errors: list[str] = []
        self.changes: dict[str, int] = {}
        self.progress = progress
        self.task = progress.add_task(section.name, total=self.total, start=False, status="waiting")
        self.lock = threading.Lock()

    def begin(self) -> None:
        self.progress.start_task(self.task)
        self.progress.update(self.task, status="running")

    def on_event(self, event: auto.EngineEvent) -> None:
        with self.lock:
            if event.resource_pre_event:
                self.started.add(event.resource_pre_event.metadata.urn)
            elif event.res_outputs_event:
                self.done.add(event.res_outputs_event.metadata.urn)
            elif event.res_op_failed_event:
                self.done.add(event.res_op_failed_event.metadata.urn)
            elif event.diagnostic_event and event.diagnostic_event.severity == "error":
                self.errors.append(event.diagnostic_event.message.strip())
            elif event.summary_event:
                self.changes = {
                    str(getattr(k, "value", k)): v
                    for k, v in event.summary_event.resource_changes.items()
                }
            self.total = max(self.total, len(self.started))
            self.progress.update(self.task, completed=len(self.done), total=self.total)

    def finish(self, status: str) -> None:
        # A section that succeeded has stepped through all its resources: the engine's count
        # replaces the estimate. One that failed shows how far it got against the estimate.
        total = len(self.done) if status == "ok" else max(self.total, len(self.done))
        self.progress.update(self.task, status=status, total=total, completed=len(self.done))


def _log_writer(path: Path) -> tuple[Callable[[str], None], Callable[[], None]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w", encoding="utf-8")
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            handle.write(line + "\n")
            handle.flush()

    return write, handle.close


class ClassRun:
    """Prepares the sections' stacks one by one, then runs the operation on them in parallel."""

    def __init__(
        self,
        klass: ClassConfig,
        operation: str,
        *,
        backend: str | None = None,
        parallel: int | None = None,
        command: auto.PulumiCommand | None = None,
        console: Console | None = None,
        env: dict[str, str] | None = None,
        record_as: str | None = None,
    ):
        if operation not in OPERATIONS:
            raise DriverError(f"unknown operation {operation}; one of {', '.join(OPERATIONS)}")
        self.klass = klass
        self.operation = operation
        self.root = klass.root
        self.backend = backend or default_backend(klass.root)
        self.parallel = parallel or default_parallel()
        self.console = console or Console(stderr=True, log_path=False)
        self.results = Results(self.root, klass.name)
        # The key results.json keeps this run under (repair's targeted runs must not pass
        # for a whole section's `up` in `up --retry-failed`).
        self.record_as = record_as or operation
        self.workspace = auto.LocalWorkspace(
            work_dir=str(self.root),
            pulumi_command=command or pulumi_command(),
            env_vars={
                "PULUMI_BACKEND_URL": self.backend,
                "PULUMI_SKIP_UPDATE_CHECK": "true",
                **(env or {}),
            },
            secrets_provider=klass.secrets_provider(),
        )

    # -- preparation: serial -------------------------------------------------
    def _stack(self, name: str, create: bool) -> auto.Stack | None:
        try:
            return auto.Stack.select(name, self.workspace)
        except auto.StackNotFoundError:
            if not create:
                return None
            return auto.Stack.create(name, self.workspace)

    def prepare(self, sections: list[Section]) -> dict[str, auto.Stack | None]:
        """Write each section's config and select or create its stack, one at a time.

        When a section stack must be created and the class has no secrets
        provider yet, the class stack is created first, so that Pulumi writes the
        class's salt into Pulumi.<class>.yaml and every section's config carries
        that one salt: the class's `secure:` values then decrypt everywhere with
        the class passphrase.
        """
        if self.backend.startswith("file://"):
            Path(self.backend[len("file://") :]).mkdir(parents=True, exist_ok=True)
        creates = self.operation in ("up", "preview")
        if (
            creates
            and not self.klass.has_secrets_provider()
            and any(s.name != self.klass.name for s in sections)
        ):
            self._stack(self.klass.name, create=True)
            self.klass = load_class(self.klass.name, self.root)
        stacks: dict[str, auto.Stack | None] = {}
        for section in sections:
            self.klass.write_section_config(section.name, section.students)
            # A section whose students were all removed is destroyed by `up`.
            create = creates and bool(section.students)
            stacks[section.name] = self._stack(section.name, create)
        return stacks

    def install_plugins(self) -> None:
        """The program's plugins, once, before sections run in parallel.

        Every section's engine would otherwise download a missing azure-native plugin
        itself, all at once into the same plugin folder (pulumi/pulumi#22784).
        `pulumi install --no-dependencies` installs the plugins only: the program's
        Python packages are the instructor's venv, set up once by scripts/deploy.sh.
        """
        self.console.log("installing the program's plugins (once, before the sections run)")
        try:
            self.workspace.install(no_dependencies=True)
        except auto.CommandError as exc:
            lines = [line for line in str(exc).splitlines() if line.strip()]
            raise DriverError(
                "could not install the program's plugins (`pulumi install --no-dependencies`): "
                + (lines[-1].strip() if lines else "failed")
            ) from exc

    # -- the operation: parallel ----------------------------------------------
    def _operation_for(self, section: Section) -> str:
        # A section whose students were all removed holds environments to remove: its
        # program would declare nothing (and the config check refuses an empty roster).
        if not section.students and not section.target:
            if self.operation == "up":
                return "destroy"
            if self.operation == "preview":
                return "preview-destroy"
        return self.operation

    def run_one(
        self, section: Section, stack: auto.Stack | None, tracker: SectionProgress
    ) -> SectionResult:
        operation = self._operation_for(section)
        start = time.monotonic()
        result = SectionResult(section.name, self.record_as, "ok", len(section.students))
        if stack is None:
            result.status = "absent"
            tracker.finish("absent")
            return result
        tracker.begin()
        self.console.log(
            f"[bold]{section.name}[/]: {operation} started ({len(section.students)} students)"
        )
        write, close = _log_writer(
            self.root / WORK_DIR / self.klass.name / "logs" / f"{section.name}.{operation}.log"
        )
        kwargs = dict(
            on_output=write,
            on_error=write,
            on_event=tracker.on_event,
            color="never",
            config_file=str(section.config_file),
        )
        if section.urns():
            kwargs.update(target=section.urns(), target_dependents=True)
        try:
            if operation == "up":
                stack.up(**kwargs)
            elif operation == "preview":
                stack.preview(**kwargs)
            elif operation == "preview-destroy":
                stack.preview_destroy(**kwargs)
            elif operation == "refresh":
                stack.refresh(**kwargs)
            else:
                stack.destroy(**kwargs)
        except auto.CommandError as exc:
            result.status = "failed"
            detail = tracker.errors or [line for line in str(exc).splitlines() if line.strip()]
            result.error = (detail[-1] if detail else "failed")[:300]
        except Exception as exc:  # noqa: BLE001 - one section's crash must not stop the others
            result.status = "failed"
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            close()
        if result.status == "ok" and operation != self.operation:
            result.status = "will be removed" if operation == "preview-destroy" else "removed"
        result.seconds = round(time.monotonic() - start, 2)
        result.changes = tracker.changes
        result.resources = len(tracker.done)
        tracker.finish(result.status)
        self.console.log(
            f"[bold]{section.name}[/]: {operation} {result.status} in {_duration(result.seconds)}"
            + (f": {result.error}" if result.error else "")
        )
        return result

    def run(self, sections: list[Section]) -> list[SectionResult]:
        stacks = self.prepare(sections)
        if any(stack is not None for stack in stacks.values()):
            self.install_plugins()
        previous = self.results.load().get(self.record_as, {})
        results: dict[str, SectionResult] = {}
        with Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("resources"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            transient=False,
        ) as progress:
            trackers = {
                s.name: SectionProgress(progress, s, previous.get(s.name, {}).get("resources", 0))
                for s in sections
            }

            def work(section: Section) -> SectionResult:
                result = self.run_one(section, stacks[section.name], trackers[section.name])
                result.finished = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
                self.results.record(result)
                return result

            with ThreadPoolExecutor(
                max_workers=self.parallel, thread_name_prefix="section"
            ) as pool:
                for result in pool.map(work, sections):
                    results[result.section] = result
        # An emptied section that was destroyed, or whose stack never existed, has nothing left.
        removed = [
            r.section
            for r in results.values()
            if r.status == "removed"
            or (self.operation == "up" and r.status == "absent" and not r.students)
        ]
        if removed:
            # Destroyed for good: nothing to keep a place or a config for.
            self.klass.forget_sections(removed)
            self.console.log(f"removed from {self.klass.lock_path.name}: {', '.join(removed)}")
        return [results[s.name] for s in sections]


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"


def format_changes(changes: dict[str, int]) -> str:
    symbols = (
        ("create", "+"),
        ("update", "~"),
        ("replace", "+-"),
        ("delete", "-"),
        ("refresh", "r"),
    )
    text = " ".join(f"{sym}{changes[op]}" for op, sym in symbols if changes.get(op))
    return text or ("no changes" if changes else "")


def summary_table(operation: str, results: list[SectionResult]) -> Table:
    table = Table(
        title=f"{operation}: {sum(r.status != 'failed' for r in results)}/{len(results)} sections ok"
    )
    for column in ("section", "students", "result", "duration", "changes", "error"):
        table.add_column(column, justify="right" if column in ("students", "duration") else "left")
    for r in results:
        style = {"ok": "green", "failed": "red", "removed": "green"}.get(r.status, "yellow")
        table.add_row(
            r.section,
            str(r.students),
            f"[{style}]{r.status}[/]",
            _duration(r.seconds),
            format_changes(r.changes),
            r.error,
        )
    return table


def run_class(
    klass: ClassConfig,
    operation: str,
    *,
    section: str | None = None,
    student: str | None = None,
    retry_failed: bool = False,
    parallel: int | None = None,
    backend: str | None = None,
    console: Console | None = None,
    sections: list[Section] | None = None,
    env: dict[str, str] | None = None,
    record_as: str | None = None,
) -> list[SectionResult]:
    """Run one operation over a class's sections; the results in section order."""
    if klass.secrets_provider() == "passphrase" and not (
        os.environ.get("PULUMI_CONFIG_PASSPHRASE")
        or os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        # Every section would fail on its own, minutes apart; say it once, before anything runs.
        raise DriverError(
            "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the class's "
            "passphrase: it protects the secrets of every section"
        )
    if operation == "up":
        # `up` is what places students for good: record the assignment before creating anything.
        klass.write_lock()
    chosen = (
        sections
        if sections is not None
        else plan_sections(
            klass, section=section, student=student, project=_project_name(klass.root)
        )
    )
    if retry_failed:
        failed = set(Results(klass.root, klass.name).failed(operation))
        chosen = [s for s in chosen if s.name in failed]
    if not chosen:
        return []
    runner = ClassRun(
        klass,
        operation,
        backend=backend,
        parallel=parallel,
        console=console,
        env=env,
        record_as=record_as,
    )
    return runner.run(chosen)


def _project_name(root: Path) -> str:
    return str(
        (yaml.safe_load((root / "Pulumi.yaml").read_text()) or {}).get("name", "synapse-ml-lab")
    )


def register(subparsers) -> None:
    for operation, text in (
        ("up", "create or update every section of a class"),
        ("preview", "preview every section of a class"),
        ("refresh", "refresh every section's state from Azure"),
        ("destroy", "destroy every section of a class"),
    ):
        parser = subparsers.add_parser(
            operation,
            help=text,
            description=f"{text[0].upper()}{text[1:]} "
            "through the Pulumi Automation API, sections in parallel.",
        )
        parser.add_argument(
            "--stack",
            required=True,
            help="the class: the stack whose Pulumi.<stack>.yaml holds the roster",
        )
        one = parser.add_mutually_exclusive_group()
        one.add_argument(
            "--section", help="act on this section stack only (default: every section)"
        )
        one.add_argument(
            "--student",
            metavar="ID",
            help="act on this student's environment only, in their section (default: everyone)",
        )
        parser.add_argument(
            "--retry-failed",
            action="store_true",
            help=f"only the sections whose last `{operation}` failed (.classroom/<class>/results.json)",
        )
        parser.add_argument(
            "--parallel",
            type=int,
            help="sections at once (default: what memory holds, "
            f"{MEMORY_PER_SECTION // 2**20} MiB each; {default_parallel()} here)",
        )
        parser.add_argument(
            "--backend",
            help="state backend URL (default: $PULUMI_BACKEND_URL, else "
            "file://<project>/.pulumi-state); e.g. azblob://<container>",
        )
        parser.add_argument("--root", type=Path, default=PROJECT_DIR, help=argparse.SUPPRESS)
        parser.set_defaults(func=main, operation=operation)


def main(args: argparse.Namespace) -> int:
    console = Console(stderr=True, log_path=False)
    try:
        klass = load_class(args.stack, args.root)
        results = run_class(
            klass,
            args.operation,
            section=args.section,
            student=args.student,
            retry_failed=args.retry_failed,
            parallel=args.parallel,
            backend=args.backend,
            console=console,
        )
    except ConfigError as exc:
        where = args.root / f"Pulumi.{args.stack}.yaml"
        console.print(config_errors(where, exc.problems), markup=False, soft_wrap=True)
        return 2
    except (SectionError, DriverError) as exc:
        console.print(f"error: {exc}", markup=False)
        return 2
    if not results:
        console.print(
            f"nothing to {args.operation}"
            + (": no section failed last time" if args.retry_failed else "")
        )
        return 0
    Console().print(summary_table(args.operation, results))
    failed = [r.section for r in results if r.status == "failed"]
    if failed:
        console.print(
            f"{len(failed)} section(s) failed: {', '.join(failed)}; fix the cause and run "
            f"`python -m classroom {args.operation} --stack {args.stack} --retry-failed` "
            f"(logs in {WORK_DIR}/{args.stack}/logs/)",
            markup=False,
        )
        return 1
    return 0
