#!/usr/bin/env python3
"""Benchmark 3: the state the real engine writes, one stack against sections.

Runs the real program under mocks (classroom/planning/simulate.py) and serialises each
resource as a checkpoint holds it (URN, type, id, inputs and outputs including
a dynamic resource's pickled provider, parent, dependencies, provider
reference, timestamps), giving the state bytes per student and per stack.

On the file and azblob backends the engine saves the whole state at the start
and end of every resource step (journaling is Pulumi Cloud only), and the file
backend keeps a `.bak` copy of the previous state at each save. An `up` that
creates a stack of R resources of b bytes each therefore writes about
sum(i=1..R) 2 x i x b x 2 = 2 R (R+1) b bytes: quadratic in the stack. This
prints that total for a class in one stack, in sections, and one stack per
student; then a simulated makespan of the class in sections under the driver's
parallel bound, each section taking the Azure critical path (bench_deploy.py's
typical times) plus the engine's registration time plus the time to write its
checkpoints (serialised per stack, every step waits for its save).

    venv/bin/python bench/bench_state.py [--students 200] [--section 25] [--json]
        [--write-mbps 200] [--ms-per-resource 15]
"""

from __future__ import annotations

import argparse
import base64
import heapq
import json
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_deploy import critical_path  # noqa: E402

from classroom.planning.simulate import LabMocks, run_program  # noqa: E402
from classroom.running.driver import MEMORY_PER_SECTION, default_parallel  # noqa: E402

FLOOR = {"azure-native:location": "westeurope", "lab:expiresOn": "2026-12-31"}
TIMESTAMP = "2026-11-30T10:00:00.000000000Z"
# The engine's wire value for a secret, as the checkpoint stores it (ciphertext of the value).
SECRET_SIG = "4dabf18193072939515e22adb298388d"


class CapturingMocks(LabMocks):
    """Keeps the raw inputs (with a dynamic resource's `__provider`) the engine would store."""

    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()
        self.raw: dict[tuple[str, str], tuple[dict, dict]] = {}

    def new_resource(self, args):
        resource_id, outputs = super().new_resource(args)
        with self.lock:
            self.raw[(args.typ, args.name)] = (dict(args.inputs), dict(outputs))
        return resource_id, outputs


def _secret(value) -> dict:
    ciphertext = base64.b64encode(json.dumps(value).encode() + b"0123456789abcdef").decode()
    return {SECRET_SIG: "1b47061264138c4ac30d75fd1eb44270", "ciphertext": ciphertext}


def _encode(value) -> dict:
    """An asset as the checkpoint stores it: its kind, location and content hash."""
    found = {
        k: getattr(value, k)
        for k in ("uri", "path", "text")
        if isinstance(getattr(value, k, None), str)
    }
    return {SECRET_SIG: "c44067f5952c0a294b673a41bacd8c17", "hash": "0" * 64, **found}


def entry_bytes(entry: dict) -> int:
    return len(json.dumps(entry, indent=4, default=_encode))


def checkpoint_entries(students: int) -> tuple[list[dict], list[dict]]:
    """The state's resources for a roster, and those that are no student's own."""
    mocks = CapturingMocks()
    roster = [{"id": f"student{i:03d}"} for i in range(students)]
    sim = run_program({**FLOOR, "lab:students": roster}, mocks=mocks)
    entries = []
    by_urn = {}
    for r in sim.resources:
        inputs, outputs = mocks.raw.get((r.type, r.name), (r.inputs, r.outputs))
        outputs = {
            k: _secret(v) if k in r.additional_secret_outputs or k in r.secret_inputs else v
            for k, v in outputs.items()
        }
        inputs = {k: _secret(v) if k in r.secret_inputs else v for k, v in inputs.items()}
        entry = {
            "urn": r.urn,
            "custom": r.custom,
            "id": f"{r.name}-id" if r.custom else "",
            "type": r.type,
            "inputs": inputs,
            "outputs": outputs,
            "parent": r.parent,
            "dependencies": r.dependencies,
            "propertyDependencies": r.property_dependencies,
            "provider": (
                r.provider
                or "urn:pulumi:dev::synapse-ml-lab::pulumi:providers:azure-native::default_3_29_0"
            )
            + "::04da6b54-80e4-46f7-96ec-b56ff0331ba9"
            if r.custom
            else "",
            "created": TIMESTAMP,
            "modified": TIMESTAMP,
        }
        entries.append(entry)
        by_urn[r.urn] = entry
    # The stack resource holds the exports (every student's environment) and the default providers.
    entries.append(
        {
            "urn": "urn:pulumi:dev::synapse-ml-lab::pulumi:pulumi:Stack::synapse-ml-lab-dev",
            "custom": False,
            "type": "pulumi:pulumi:Stack",
            "outputs": {
                k: (_secret(v.value) if v.secret else v.value) for k, v in sim.exports.items()
            },
        }
    )
    for provider in ("azure-native", "random", "pulumi-nodejs"):
        entries.append(
            {
                "urn": f"urn:pulumi:dev::synapse-ml-lab::pulumi:providers:{provider}::default",
                "custom": True,
                "id": "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
                "type": f"pulumi:providers:{provider}",
                "inputs": {"version": "3.29.0"},
                "outputs": {"version": "3.29.0"},
                "created": TIMESTAMP,
                "modified": TIMESTAMP,
            }
        )
    in_trees = {
        r.urn
        for env in sim.of_type("synapse-ml-lab:lab:LabEnvironment")
        for r in [env] + sim.descendants_of(env)
    }
    # Besides the students' trees: the stack (whose exports grow with the roster), the
    # default providers and the class password.
    besides = [e for e in entries if e["urn"] not in in_trees]
    return entries, besides


def bytes_per_create(resources: int, per_resource: float, backup: bool = True) -> float:
    """Bytes written by an `up` that creates a stack: two saves per step, each of the state so far."""
    return per_resource * resources * (resources + 1) * (2 if backup else 1)


def list_schedule(durations: list[float], slots: int) -> float:
    """Makespan of jobs started in order whenever one of `slots` is free."""
    free = [0.0] * slots
    heapq.heapify(free)
    end = 0.0
    for d in durations:
        start = heapq.heappop(free)
        end = max(end, start + d)
        heapq.heappush(free, start + d)
    return end


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--section", type=int, default=25)
    parser.add_argument("--sample", type=int, default=5, help="students in the measured mock run")
    parser.add_argument(
        "--write-mbps",
        type=float,
        default=200.0,
        help="MB/s the engine serialises and writes checkpoints at (local disk; less on azblob)",
    )
    parser.add_argument(
        "--ms-per-resource",
        type=float,
        default=15.0,
        help="engine and program CPU per resource (bench_plan.py measures 13-17 ms)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    entries, besides = checkpoint_entries(args.sample)
    stack_entry = next(e for e in besides if e["type"] == "pulumi:pulumi:Stack")
    fixed = sum(entry_bytes(e) for e in besides if e is not stack_entry)
    # A student's share: their resources' entries and their part of the stack's exports.
    per_student = (sum(entry_bytes(e) for e in entries) - fixed) / args.sample
    per_student_resources = (len(entries) - len(besides)) / args.sample
    per_resource = per_student / per_student_resources
    n, size = args.students, args.section
    layouts = {
        f"one stack of {n}": [n],
        f"sections of {size}": [size] * (n // size) + ([n % size] if n % size else []),
        "one stack per student": [1] * n,
    }
    stack_overhead = len(besides)  # the stack, its default providers, the class password
    rows = []
    for name, stacks in layouts.items():

        def written(backup: bool, stacks: list[int] = stacks) -> float:
            return sum(
                bytes_per_create(
                    int(s * per_student_resources) + stack_overhead,
                    (s * per_student + fixed) / (s * per_student_resources + stack_overhead),
                    backup,
                )
                for s in stacks
            )

        largest = max(stacks)
        rows.append(
            {
                "layout": name,
                "stacks": len(stacks),
                "largest_stack_resources": int(largest * per_student_resources) + stack_overhead,
                "largest_state_mb": (largest * per_student + fixed) / 1e6,
                "written_gb": written(False) / 1e9,
                "written_with_bak_gb": written(True) / 1e9,
            }
        )

    # Makespan of the class in sections under the driver's bound.
    one = run_program({**FLOOR, "lab:students": [{"id": "student000"}]})
    azure_seconds = critical_path(one)

    def section_seconds(students: int) -> float:
        resources = int(students * per_student_resources) + stack_overhead
        state_bytes = bytes_per_create(resources, (students * per_student + fixed) / resources)
        return (
            azure_seconds
            + resources * args.ms_per_resource / 1000
            + state_bytes / (args.write_mbps * 1e6)
        )

    sections = layouts[f"sections of {size}"]
    here = default_parallel()
    bounds = sorted({1, 2, 4, here, len(sections)})
    makespans = [
        {"parallel": p, "minutes": list_schedule([section_seconds(s) for s in sections], p) / 60}
        for p in bounds
    ]
    whole = section_seconds(n) / 60
    per_student_stacks = list_schedule([section_seconds(1)] * n, here) / 60
    data = {
        "sample_students": args.sample,
        "state_bytes_per_student": round(per_student),
        "resources_per_student": per_student_resources,
        "bytes_per_resource": round(per_resource),
        "layouts": rows,
        "azure_critical_path_min": azure_seconds / 60,
        "section_minutes": section_seconds(size) / 60,
        "one_stack_minutes": whole,
        "makespans": makespans,
        "stack_per_student_minutes": per_student_stacks,
        "default_parallel_here": here,
        "memory_per_section_mib": MEMORY_PER_SECTION // 2**20,
        "write_mbps": args.write_mbps,
    }
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    print(
        f"state per student: {per_student / 1e3:.1f} kB in {per_student_resources:g} resources "
        f"({per_resource:,.0f} bytes per resource; measured on {args.sample} students under mocks)"
    )
    print(
        f"{'layout':<24} {'stacks':>6} {'largest stack':>14} {'its state':>10} {'written per up':>15} {'with .bak':>10}"
    )
    for r in rows:
        print(
            f"{r['layout']:<24} {r['stacks']:>6} {r['largest_stack_resources']:>10,} res {r['largest_state_mb']:>7.2f} MB "
            f"{r['written_gb']:>12.2f} GB {r['written_with_bak_gb']:>7.2f} GB"
        )
    print(
        f"Azure critical path of one student: {azure_seconds / 60:.1f} min; a section of {size}: "
        f"{section_seconds(size) / 60:.1f} min (with {args.ms_per_resource:g} ms/resource and checkpoints at "
        f"{args.write_mbps:g} MB/s); one stack of {n}: {whole:.1f} min"
    )
    for m in makespans:
        note = " (the driver's default here)" if m["parallel"] == here else ""
        print(
            f"  {len(sections)} sections, {m['parallel']} at a time: {m['minutes']:.1f} min{note}"
        )
    print(f"  {n} stacks of one student, {here} at a time: {per_student_stacks:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
