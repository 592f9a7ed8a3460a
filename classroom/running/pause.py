"""Pause every Online dedicated SQL pool of a class, now.

    python -m classroom pause --stack spring [--student ann --student ben] [--parallel 16]
    python -m classroom pause --stack spring --outputs outputs.json   # `pulumi stack output --json`

The schedule in each workspace (the ``Pause SQL pool`` pipeline, lab:pauseSqlPoolAt)
is the guard; this is the instructor's button for right now, e.g. at the end of a
session, and the evening workflow (.github/workflows/pause.yml) presses it for every
class still running, in case a student switched the guard off. It reads where each student's pool is from the stacks' ``environments``
output (a class in sections is read whole), asks ARM for each pool's state and
pauses those that are Online, ``--parallel`` at a time, with a progress line per
pool and a summary. A pool Paused, Pausing or Resuming is left alone (the student
resuming it is working). Exit code 0 when every Online pool was paused, 1 when a
pause failed, 2 when the class cannot be read or there is no Azure login.

The calls are ARM's "Sql Pools - Get" and "Sql Pools - Pause" at the api-version the
program writes with (lab/api_versions.py), through azure-core with its retries of
throttling and server errors, following the pause's operation until it ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classroom import signin
from classroom.stackfile import PROJECT_DIR

from .driver import default_backend

ARM_SCOPE = "https://management.azure.com/.default"
DEFAULT_ARM = "https://management.azure.com"


class PauseError(Exception):
    """The class cannot be read."""


@dataclass(frozen=True)
class PoolTarget:
    student: str
    subscription: str
    resource_group: str
    workspace: str
    pool: str

    @property
    def command(self) -> str:
        return (
            f"az synapse sql pool pause --name {self.pool} --workspace-name {self.workspace} "
            f"--resource-group {self.resource_group}"
        )


@dataclass
class PauseResult:
    target: PoolTarget
    before: str | None = None  # the pool's state when read
    outcome: str = "failed"  # paused | left alone | failed
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "student": self.target.student,
            "pool": self.target.pool,
            "workspace": self.target.workspace,
            "before": self.before,
            "outcome": self.outcome,
            "detail": self.detail,
        }


def targets_from_outputs(outputs: Mapping[str, Any]) -> list[PoolTarget]:
    """One target per student with a dedicated SQL pool, from the ``environments`` output."""
    envs = outputs.get("environments")
    if not isinstance(envs, Mapping):
        raise PauseError("no `environments` output: run `pulumi up` first")
    found = []
    for student, env in envs.items():
        if isinstance(env, Mapping) and env.get("sqlPool"):
            found.append(
                PoolTarget(
                    str(student),
                    str(env["subscription"]),
                    str(env["resourceGroup"]),
                    str(env["synapseWorkspace"]),
                    str(env["sqlPool"]),
                )
            )
    return found


def _read_outputs(stack: str, work_dir: Path, pulumi_command: Any = None) -> dict[str, Any]:
    from pulumi import automation as auto

    try:
        workspace = auto.LocalWorkspace(
            work_dir=str(work_dir),
            pulumi_command=pulumi_command,
            env_vars={"PULUMI_BACKEND_URL": default_backend(work_dir)},
        )
        selected = auto.Stack.select(stack, workspace)
        return {k: v.value for k, v in selected.outputs().items() if k == "environments"}
    except (auto.errors.CommandError, ValueError) as error:
        lines = [x for x in str(error).strip().splitlines() if x.strip()]
        raise PauseError(f"cannot read stack '{stack}': {lines[-1] if lines else error}") from error
    except OSError as error:
        raise PauseError(
            f"cannot run the Pulumi CLI ({error.strerror or error}): install it, or pass "
            "`pulumi stack output --json` with --outputs FILE"
        ) from error


def load_targets(
    stacks: Sequence[str],
    outputs_files: Sequence[Path] | None = None,
    work_dir: Path = PROJECT_DIR,
    pulumi_command: Any = None,
) -> list[PoolTarget]:
    """Every pool of the given stacks; a class in sections is read as all its section stacks."""
    if outputs_files:
        if len(outputs_files) != len(stacks):
            raise PauseError("give one --outputs file per --stack")
        found: list[PoolTarget] = []
        for path in outputs_files:
            try:
                found += targets_from_outputs(json.loads(Path(path).read_text()))
            except (OSError, ValueError) as error:
                raise PauseError(f"cannot read {path}: {error}") from error
        return found
    from .sections import section_stacks

    found = []
    for stack in stacks:
        members = (
            section_stacks(stack, work_dir)
            if (work_dir / f"Pulumi.{stack}.yaml").is_file()
            else {stack: []}
        )
        for section in members:
            found += targets_from_outputs(_read_outputs(section, work_dir, pulumi_command))
    return found


def pause_one(
    target: PoolTarget,
    *,
    credential: Any,
    arm_endpoint: str = DEFAULT_ARM,
    client_kwargs: Mapping[str, Any] | None = None,
    polling_interval: float = 10.0,
    timeout: float = 900.0,
) -> PauseResult:
    """Read one pool's state and pause it when it is Online, following the operation."""
    import time

    from azure.core import PipelineClient
    from azure.core.exceptions import AzureError, HttpResponseError
    from azure.core.pipeline import policies
    from azure.core.rest import HttpRequest

    from lab.api_versions import SYNAPSE

    result = PauseResult(target)
    pool_url = (
        f"{arm_endpoint.rstrip('/')}/subscriptions/{target.subscription}/resourceGroups/"
        f"{target.resource_group}/providers/Microsoft.Synapse/workspaces/{target.workspace}/"
        f"sqlPools/{target.pool}"
    )
    kwargs = dict(client_kwargs or {})
    # azure-core's retries (throttling honouring Retry-After, server errors, dropped
    # connections) on the GETs; the pause POST is retried by ARM's own semantics only.
    client = PipelineClient(
        base_url=arm_endpoint,
        policies=[
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(sdk_moniker="synapse-ml-lab-classroom"),
            policies.ContentDecodePolicy(),
            policies.RetryPolicy(**kwargs),
            policies.BearerTokenCredentialPolicy(credential, ARM_SCOPE),
            policies.NetworkTraceLoggingPolicy(),
        ],
        **kwargs,
    )

    def send(method: str, url: str) -> Any:
        response = client.send_request(HttpRequest(method, url))
        response.read()
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return response

    def body(response: Any) -> dict[str, Any]:
        try:
            value = response.json()
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    try:
        with client:
            # Sql Pools - Get / Pause (Microsoft.Synapse, the api-version the program writes with).
            pool = body(send("GET", f"{pool_url}?api-version={SYNAPSE}"))
            status = (pool.get("properties") or {}).get("status")
            result.before = status
            if status != "Online":
                result.outcome, result.detail = "left alone", f"it is {status}"
                return result
            response = send("POST", f"{pool_url}/pause?api-version={SYNAPSE}")
            # A 202 is followed: Azure-AsyncOperation answers a status document until it
            # says Succeeded or Failed; Location answers 202 until the operation is done.
            status_url = response.headers.get("Azure-AsyncOperation")
            location = response.headers.get("Location")
            deadline = time.monotonic() + timeout
            if response.status_code == 202 and (status_url or location):
                while True:
                    if time.monotonic() + polling_interval > deadline:
                        result.detail = (
                            f"still pausing after {timeout:.0f}s: check again with "
                            "`classroom status`"
                        )
                        return result
                    time.sleep(polling_interval)
                    polled = send("GET", status_url or location)
                    state = str(body(polled).get("status", "")).lower() if status_url else ""
                    if state in ("failed", "canceled", "cancelled"):
                        result.detail = f"the pause ended {state}: {target.command}"
                        return result
                    if (status_url and state == "succeeded") or (
                        not status_url and polled.status_code != 202
                    ):
                        break
            result.outcome, result.detail = "paused", ""
    except HttpResponseError as error:
        code = getattr(error.error, "code", None) if error.error else None
        result.detail = f"ARM answered {error.status_code}{f' {code}' if code else ''}: " + (
            "the identity may not pause it (Contributor on the group, or the SQL pool operator role)"
            if error.status_code in (401, 403)
            else f"retry, or pause it by hand: {target.command}"
        )
    except AzureError as error:
        result.detail = f"no answer from ARM ({type(error).__name__}): {target.command}"
    return result


def pause_class(
    targets: Sequence[PoolTarget],
    *,
    credential: Any,
    parallel: int = 8,
    on_done: Callable[[PauseResult], None] | None = None,
    **kwargs: Any,
) -> list[PauseResult]:
    """Pause every Online pool, ``parallel`` at a time; results in the targets' order."""

    def one(target: PoolTarget) -> PauseResult:
        result = pause_one(target, credential=credential, **kwargs)
        if on_done:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
        return list(pool.map(one, targets))


def render_summary(results: Sequence[PauseResult]) -> str:
    paused = [r for r in results if r.outcome == "paused"]
    alone = [r for r in results if r.outcome == "left alone"]
    failed = [r for r in results if r.outcome == "failed"]
    lines = [
        f"{len(paused)} pool(s) paused, {len(alone)} left alone (not Online), {len(failed)} failed"
    ]
    lines += [f"  failed: {r.target.student} '{r.target.pool}': {r.detail}" for r in failed]
    return "\n".join(lines)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "pause",
        help="pause every Online dedicated SQL pool of a class now",
        description=__doc__.split("\n\n")[0],
    )
    p.add_argument("--stack", action="append", required=True, help="the class (or a stack)")
    p.add_argument(
        "--student",
        action="append",
        default=[],
        metavar="ID",
        help="only this student (repeat for several; default: everyone)",
    )
    p.add_argument(
        "--outputs",
        type=Path,
        action="append",
        metavar="FILE",
        help="`pulumi stack output --json` of the stack instead of asking Pulumi (one per --stack; "
        "default: ask Pulumi)",
    )
    p.add_argument("--parallel", type=int, default=8, help="pools paused at once (default: 8)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    signin.add_verbose_argument(p)
    p.set_defaults(func=main)


def main(
    args: argparse.Namespace,
    *,
    credential: Any = None,
    arm_endpoint: str = DEFAULT_ARM,
    work_dir: Path = PROJECT_DIR,
    out: Any = None,
    err: Any = None,
    **kwargs: Any,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        targets = load_targets(args.stack, args.outputs, work_dir)
    except PauseError as error:
        print(f"error: {error}", file=err)
        return 2
    if args.student:
        unknown = sorted(set(args.student) - {t.student for t in targets})
        if unknown:
            print(f"error: no SQL pool for student(s) {', '.join(unknown)}", file=err)
            return 2
        targets = [t for t in targets if t.student in args.student]
    verbose = getattr(args, "verbose", False)
    if credential is None:
        # The program's sign-in: GitHub OIDC in CI (a fresh token each time), else Azure's chain.
        credential = signin.credential(verbose)
    if not signin.signed_in(credential, err, verbose):
        return 2
    done = 0

    def progress(result: PauseResult) -> None:
        nonlocal done
        done += 1
        note = f" ({result.detail})" if result.detail else ""
        print(
            f"[{done}/{len(targets)}] {result.target.student}: {result.outcome}{note}",
            file=err,
            flush=True,
        )

    results = pause_class(
        targets,
        credential=credential,
        parallel=args.parallel,
        on_done=progress,
        arm_endpoint=arm_endpoint,
        **kwargs,
    )
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2), file=out)
    else:
        print(render_summary(results), file=out)
    return 1 if any(r.outcome == "failed" for r in results) else 0
