#!/usr/bin/env python3
"""Benchmark 1: the program under Pulumi's mocks for rosters of 1..200 students.

For each roster size it prints the plan time, the peak memory (max RSS of a fresh
process), the resources declared per student, and the time per resource against
a minimal program that declares the same number of plain custom resources (the
SDK's own floor under mocks). Each measurement runs in its own process.

    venv/bin/python bench/bench_plan.py [--sizes 1,10,30,100,200] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Two floors of the same resource count: plain custom resources with one input
# (the engine protocol alone), and azure-native resource groups with a name and
# a location (the SDK's typed resource classes, whose many output properties
# each cost Output futures under mocks).
MINIMAL_PROGRAMS = {
    "plain": """
import pulumi
for i in range({count}):
    pulumi.CustomResource("bench:index:Thing", f"thing-{{i}}", {{"value": str(i)}})
""",
    "typed": """
import pulumi_azure_native as azure_native
for i in range({count}):
    azure_native.resources.ResourceGroup(f"rg-{{i}}", resource_group_name=f"rg-{{i}}", location="westeurope")
""",
}


def roster(n: int) -> list[dict]:
    return [{"id": f"student{i:03d}"} for i in range(n)]


def measure_program(students: int) -> dict:
    from classroom.planning.simulate import run_program

    config = {
        "azure-native:location": "westeurope",
        "lab:expiresOn": "2026-12-31",
        "lab:students": roster(students),
    }
    start = time.perf_counter()
    sim = run_program(config, preview=True)
    elapsed = time.perf_counter() - start
    return {
        "students": students,
        "resources": len(sim.resources),
        "seconds": elapsed,
        "custom": sum(r.custom for r in sim.resources),
    }


def measure_minimal(kind: str, count: int) -> dict:
    from classroom.planning.simulate import run_program

    with tempfile.TemporaryDirectory() as tmp:
        program = Path(tmp) / "__main__.py"
        program.write_text(MINIMAL_PROGRAMS[kind].format(count=count))
        start = time.perf_counter()
        sim = run_program({}, program=program, preview=True)
        elapsed = time.perf_counter() - start
    return {"resources": len(sim.resources), "seconds": elapsed}


def child(kind: str, n: int) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,10,30,100,200")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, n = args.child[0], int(args.child[1])
        data = measure_program(n) if kind == "program" else measure_minimal(kind, n)
        data["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(data))
        return 0
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        prog = child("program", n)
        floor = child("plain", prog["resources"])
        typed = child("typed", prog["resources"])
        rows.append(
            {
                "students": n,
                "resources": prog["resources"],
                "resources_per_student": round(prog["resources"] / n, 1),
                "plan_seconds": round(prog["seconds"], 2),
                "peak_rss_mib": round(prog["peak_rss_mib"], 1),
                "ms_per_resource": round(1000 * prog["seconds"] / prog["resources"], 2),
                "floor_ms_per_resource": round(1000 * floor["seconds"] / floor["resources"], 2),
                "typed_floor_ms_per_resource": round(
                    1000 * typed["seconds"] / typed["resources"], 2
                ),
            }
        )
        rows[-1]["overhead_vs_typed_floor"] = round(
            rows[-1]["ms_per_resource"] / rows[-1]["typed_floor_ms_per_resource"], 2
        )
        if not args.json:
            r = rows[-1]
            print(
                f"{n:4d} students  {r['resources']:6d} resources ({r['resources_per_student']}/student)  "
                f"plan {r['plan_seconds']:7.2f} s  peak {r['peak_rss_mib']:7.1f} MiB  "
                f"{r['ms_per_resource']:6.2f} ms/resource  (floors: plain {r['floor_ms_per_resource']:.2f} ms, "
                f"azure-native {r['typed_floor_ms_per_resource']:.2f} ms; x{r['overhead_vs_typed_floor']} of it)",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
