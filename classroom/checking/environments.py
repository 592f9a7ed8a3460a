"""Which students to check, and where they are: each stack's `environments` output
(through the Automation API, or a file such as a CI artifact) and the roster from its
Pulumi.<stack>.yaml. Shared by `status` and `handout`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from classroom.running.driver import default_backend
from classroom.stackfile import PROJECT_DIR, StackFileError, read_stack_file

from .checks import Environment, StatusError

# The only config the command reads: who the students are, and what the handout prints.
CONFIG_KEYS = (
    "lab:students",
    "lab:expiresOn",
    "lab:course",
    # The cost guard's schedule, for the handout (and the region its default zone comes from).
    "lab:pauseSqlPoolAt",
    "lab:timeZone",
    "azure-native:location",
)


def pause_schedule_words(config: Mapping[str, Any]) -> str:
    """When the SQL pools pause themselves, as the program schedules it (lab/cost_guard.py):
    lab:pauseSqlPoolAt (default 23:00; [] is no schedule) in lab:timeZone (default: the
    region's zone). Empty when there is no schedule or the setting cannot be read."""
    from lab import cost_guard

    times = config.get("lab:pauseSqlPoolAt", list(cost_guard.DEFAULT_PAUSE_TIMES))
    if isinstance(times, str):  # set with `pulumi config set` as a JSON string
        try:
            times = json.loads(times)
        except ValueError:
            return ""
    parsed, problem = cost_guard.parse_times(times)
    if problem or not parsed:
        return ""
    zone = str(config.get("lab:timeZone") or "") or cost_guard.default_time_zone(
        str(config.get("azure-native:location") or "")
    )
    return f"{', '.join(f'{h:02d}:{m:02d}' for h, m in parsed)} {zone} time"


def pause_times(config: Mapping[str, Any]) -> tuple[str, ...] | None:
    """lab:pauseSqlPoolAt as the program reads it (default 23:00), None when it cannot be read."""
    from lab import cost_guard

    times = config.get("lab:pauseSqlPoolAt", list(cost_guard.DEFAULT_PAUSE_TIMES))
    if isinstance(times, str):  # set with `pulumi config set` as a JSON string
        try:
            times = json.loads(times)
        except ValueError:
            return None
    if not isinstance(times, list) or not all(isinstance(t, str) for t in times):
        return None
    return tuple(times)


def pause_zone(config: Mapping[str, Any]) -> str:
    """lab:timeZone, else the zone of azure-native:location; "" (the resource group's region
    decides) when neither is in the config."""
    from lab import cost_guard

    location = str(config.get("azure-native:location") or "")
    zone = str(config.get("lab:timeZone") or "")
    return zone or (cost_guard.default_time_zone(location) if location else "")


# ----------------------------------------------------------------------------- reading the stack


def environments_from_outputs(
    outputs: Mapping[str, Any], stack: str = "", config: Mapping[str, Any] | None = None
) -> list[Environment]:
    """Environments from the stack's outputs (as `pulumi stack output --json` prints them)."""
    envs = outputs.get("environments")
    if not isinstance(envs, Mapping) or not envs:
        raise StatusError(
            f"stack '{stack}' has no `environments` output: run `pulumi up` first"
            if stack
            else "no `environments` output in the given outputs"
        )
    config = config or {}
    roster = roster_from_config(config)
    expires = config.get("lab:expiresOn")
    result = []
    for student, value in envs.items():
        who = roster.get(student, {})
        result.append(
            Environment.from_output(
                student,
                value,
                object_id=who.get("objectId"),
                principal_type=who.get("principalType", "User"),
                stack=stack,
                expires_on=str(expires) if expires else None,
                course=str(config.get("lab:course") or ""),
                pause_at=pause_schedule_words(config) if value.get("sqlPool") else "",
                pause_times=pause_times(config),
                time_zone=pause_zone(config),
            )
        )
    return result


def roster_from_config(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """student id -> {objectId, principalType} from the stack's `lab:students` config."""
    students = config.get("lab:students") or []
    if isinstance(students, str):
        students = json.loads(students)
    roster = {str(s["id"]): dict(s) for s in students if isinstance(s, Mapping) and s.get("id")}
    from lab.config import GUID_RE

    for student, entry in roster.items():
        # Checked before any call: the role check puts the objectId into an ARM filter.
        object_id = entry.get("objectId")
        if object_id is not None and not GUID_RE.fullmatch(str(object_id)):
            raise StatusError(
                f"lab:students: the objectId of '{student}' ({object_id!r}) is not a GUID "
                "(the student's Entra ID object id, e.g. 00000000-0000-0000-0000-000000000000)"
            )
    return roster


# What the CLI says when it cannot open a passphrase stack (pkg/secrets/passphrase/manager.go).
_PASSPHRASE_ERRORS = ("passphrase must be set", "incorrect passphrase")


def passphrase_error(stack: str) -> StatusError:
    return StatusError(
        "set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) to the class's "
        f"passphrase: the Pulumi CLI opens stack '{stack}' (a passphrase stack) only with it, "
        "even to read the `environments` output, which holds no secret"
    )


def needs_passphrase(stack: str, work_dir: Path = PROJECT_DIR) -> bool:
    """True when the stack's secrets are the passphrase provider's and no passphrase is set."""
    import os

    if os.environ.get("PULUMI_CONFIG_PASSPHRASE") is not None or os.environ.get(
        "PULUMI_CONFIG_PASSPHRASE_FILE"
    ):
        return False
    path = work_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        return False  # the CLI will say so, and its answer is translated below
    try:
        document = read_stack_file(path).document
    except StackFileError:
        return False
    provider = str(document.get("secretsprovider") or "passphrase")
    return provider == "passphrase" and bool(document.get("encryptionsalt"))


def read_stack_outputs(
    stack: str, work_dir: Path = PROJECT_DIR, pulumi_command: Any = None
) -> dict[str, Any]:
    """The stack's `environments` output through the Pulumi CLI of the Automation API.

    `pulumi stack output environments --json --stack <stack>`: that one output, secrets
    left encrypted. (The SDK's ``Stack.outputs()`` would also run `--show-secrets`, and
    so decrypt the SQL password this command has no use for.)
    """
    from pulumi import automation as auto

    try:
        # The same state backend as `python -m classroom up` (PULUMI_BACKEND_URL, else the project's files).
        workspace = auto.LocalWorkspace(
            work_dir=str(work_dir),
            pulumi_command=pulumi_command,
            env_vars={"PULUMI_BACKEND_URL": default_backend(work_dir)},
        )
        result = workspace.pulumi_command.run(
            ["stack", "output", "environments", "--json", "--stack", stack],
            str(work_dir),
            {**workspace.env_vars, "PULUMI_SKIP_UPDATE_CHECK": "true"},
        )
        return {"environments": json.loads(result.stdout)}
    except auto.errors.CommandError as error:
        text = str(error)
        if "does not have output property 'environments'" in text:
            raise StatusError(
                f"stack '{stack}' has no `environments` output: run `pulumi up` first"
            ) from error
        if any(marker in text for marker in _PASSPHRASE_ERRORS):
            raise passphrase_error(stack) from error
        raise StatusError(f"cannot read stack '{stack}': {last_line(error)}") from error
    except ValueError as error:  # the CLI printed no JSON
        raise StatusError(f"cannot read stack '{stack}': {last_line(error)}") from error
    except OSError as error:  # no `pulumi` to run
        raise StatusError(
            f"cannot run the Pulumi CLI ({error.strerror or error}): install it, or pass the "
            "outputs of `pulumi stack output --json` with --outputs FILE"
        ) from error


def last_line(error: Exception) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    last = lines[-1].strip().removeprefix("stderr:").strip() if lines else type(error).__name__
    return last[:300]


def load_environments(
    stacks: Sequence[str],
    outputs_files: Sequence[Path] | None = None,
    config_files: Sequence[Path] | None = None,
    pulumi_command: Any = None,
    work_dir: Path = PROJECT_DIR,
) -> list[Environment]:
    """Every student of the given stacks (a class, or its sections), in stack then roster order.

    Without ``outputs_files`` each stack is read through the Automation API, and a class split into
    sections (``classroom.sections``) is read as all of its section stacks; a section that cannot be
    read reports its students as not deployed, and the other sections are still read. With
    ``outputs_files``, the n-th file holds the n-th stack's `pulumi stack output --json`. The roster
    comes from ``config_files`` (same pairing) or each class's Pulumi.<stack>.yaml in ``work_dir``.
    """
    for flag, files in (("--outputs", outputs_files), ("--config", config_files)):
        if files and len(files) != len(stacks):
            raise StatusError(
                f"give one {flag} file per --stack ({len(files)} for {len(stacks)} stacks)"
            )
    if not outputs_files:
        # Said once, up front, as `classroom up` does: every section would fail on it alike.
        for stack in stacks:
            if needs_passphrase(stack, work_dir):
                raise passphrase_error(stack)
    envs: list[Environment] = []
    for n, stack in enumerate(stacks):
        # The roster from the stack's settings file, not `pulumi config --show-secrets` (which would
        # decrypt the SQL password), nor the workspace's stack_settings() (its StackSettings drops list
        # values such as lab:students).
        config = _yaml_config(
            config_files[n] if config_files else work_dir / f"Pulumi.{stack}.yaml"
        )
        if outputs_files:
            try:
                outputs = json.loads(Path(outputs_files[n]).read_text())
            except (OSError, ValueError) as error:
                raise StatusError(f"cannot read {outputs_files[n]}: {error}") from error
            envs += environments_from_outputs(outputs, stack, config)
            continue
        sections = _sections_of(stack, work_dir)
        read: list[Environment] = []
        failed: list[tuple[str, list[str], StatusError]] = []
        for section, members in sections.items():
            try:
                read += environments_from_outputs(
                    read_stack_outputs(section, work_dir, pulumi_command), section, config
                )
            except StatusError as error:
                failed.append((section, members, error))
        if failed and not read:
            # Nothing could be read (no CLI, a wrong passphrase or backend, nothing deployed): a problem of
            # the class or of this machine, said once, not 200 times.
            raise failed[0][2]
        roster = roster_from_config(config)
        for section, members, error in failed:
            read += [
                Environment.undeployed(
                    student,
                    f"section {section} has no environment for this student ({error}): run "
                    f"`python -m classroom up --stack {stack} --section {section}`",
                    object_id=roster.get(student, {}).get("objectId"),
                    stack=section,
                )
                for student in members
            ]
        envs += sorted(read, key=lambda e: _position(e.student, sections))
    return envs


def _position(student: str, sections: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """Where a student stands in the class: section order, then roster order within it."""
    for n, members in enumerate(sections.values()):
        if student in members:
            return n, list(members).index(student)
    return len(sections), 0


def _sections_of(stack: str, work_dir: Path) -> dict[str, list[str]]:
    """The section stacks of a class and their students; any other stack (or a small class) alone."""
    from classroom.running.sections import SectionError, section_stacks
    from lab.config import ConfigError

    if not (work_dir / f"Pulumi.{stack}.yaml").is_file():
        return {stack: []}  # a stack whose config lives elsewhere: read it alone
    try:
        return section_stacks(stack, work_dir)
    except (ConfigError, SectionError) as error:
        # Reading only the class stack would silently leave out every other section.
        raise StatusError(
            f"cannot tell the sections of '{stack}' from Pulumi.{stack}.yaml: {error}"
        ) from error


def add_stack_arguments(parser: argparse.ArgumentParser) -> None:
    """--stack, --outputs, --config: which students, for every command that reads a class."""
    parser.add_argument(
        "--stack",
        action="append",
        required=True,
        help="the stack (repeat for the sections of a class)",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        action="append",
        metavar="FILE",
        help="`pulumi stack output --json` of the stack instead of asking Pulumi (one per --stack; "
        "default: ask Pulumi)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        action="append",
        metavar="FILE",
        help="the stack's Pulumi.<stack>.yaml for the roster's objectIds (one per --stack; "
        "default: the project's)",
    )


def environments_or_error(args: argparse.Namespace, err: Any) -> list[Environment] | None:
    """The environments the command line names (--stack, --outputs, --config), or None after saying why not."""
    try:
        return load_environments(args.stack, args.outputs, args.config)
    except StatusError as error:
        print(f"error: {error}", file=err)
        return None


def _yaml_config(path: Path) -> dict[str, Any]:
    """The roster's keys of a stack file; none when the stack's config lives elsewhere."""
    if not path.is_file():
        return {}
    try:
        config = read_stack_file(path).config
    except StackFileError as error:
        raise StatusError(str(error)) from None
    return {key: value for key, value in config.items() if key in CONFIG_KEYS}
