#!/usr/bin/env python3
"""Benchmark 2: a simulated deployment with typical Azure provisioning times.

The real program runs under mocks whose ``new_resource`` sleeps for the typical
provisioning time of each resource type (table below, scaled down by --scale),
with enough worker threads that nothing waits for a thread. The engine starts a
resource as soon as its inputs resolve, so the makespan shows how the program's
dependency graph schedules: it is compared with the longest dependency chain
(the ideal makespan, the sum of times along the slowest path of declared
dependencies) and 30 students are compared with 1 (ideally the same makespan).
ARM throttling (about 200 writes per bucket, refilled about 10 per second per
subscription and region) is not modelled; see bench/README.md.

    venv/bin/python bench/bench_deploy.py [--scale 0.01] [--students 1,30] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from classroom.planning.simulate import LabMocks, run_program  # noqa: E402

# Typical time for Azure to create each resource type, in seconds (what a
# deployment of this lab shows in the portal's deployment view; order of magnitude).
TYPICAL_SECONDS = {
    "azure-native:resources:ResourceGroup": 2,
    "azure-native:storage:StorageAccount": 25,
    "azure-native:storage:BlobContainer": 2,
    "azure-native:storage:Blob": 3,
    "azure-native:synapse:Workspace": 300,
    "azure-native:synapse:IpFirewallRule": 30,
    "azure-native:synapse:BigDataPool": 150,
    "azure-native:synapse:SqlPool": 420,
    "azure-native:machinelearningservices:Workspace": 60,
    "azure-native:machinelearningservices:Compute": 45,
    "azure-native:machinelearningservices:Datastore": 3,
    "azure-native:keyvault:Vault": 30,
    "azure-native:operationalinsights:Workspace": 20,
    "azure-native:applicationinsights:Component": 10,
    "azure-native:monitor:DiagnosticSetting": 5,
    "azure-native:authorization:RoleAssignment": 5,
    "azure-native:authorization:RoleDefinition": 5,
    "random:index/randomString:RandomString": 0,
    "random:index/randomPassword:RandomPassword": 0,
}
DYNAMIC_SECONDS = 15  # a data-plane call (linked service, notebooks, SQL script, pause)


def typical(typ: str) -> float:
    if typ.startswith("pulumi-python:dynamic"):
        return DYNAMIC_SECONDS
    return TYPICAL_SECONDS.get(typ, 0)


class ProvisioningMocks(LabMocks):
    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}

    def new_resource(self, args):
        start = time.perf_counter()
        time.sleep(typical(args.typ) * self.scale)
        with self.lock:
            self.started[args.name] = start
            self.finished[args.name] = time.perf_counter()
        return super().new_resource(args)


def critical_path(sim) -> float:
    """Longest chain of typical times along declared dependencies (custom resources only)."""
    by_urn = {r.urn: r for r in sim.resources}
    memo: dict[str, float] = {}

    def finish(urn: str) -> float:
        if urn in memo:
            return memo[urn]
        r = by_urn[urn]
        deps = set(r.dependencies) | {u for us in r.property_dependencies.values() for u in us}
        # A dependency on a component means on all of its custom children.
        expanded = set()
        for d in deps:
            if d in by_urn and not by_urn[d].custom:
                expanded |= {c.urn for c in sim.descendants_of(by_urn[d]) if c.custom}
            elif d in by_urn:
                expanded.add(d)
        memo[urn] = (typical(r.type) if r.custom else 0) + max(
            (finish(d) for d in expanded), default=0
        )
        return memo[urn]

    return max(finish(r.urn) for r in sim.resources if r.custom)


def run(students: int, scale: float) -> dict:
    config = {
        "azure-native:location": "westeurope",
        "lab:expiresOn": "2026-12-31",
        "lab:students": [{"id": f"student{i:03d}"} for i in range(students)],
    }
    mocks = ProvisioningMocks(scale)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=2048))
    start = time.perf_counter()
    sim = run_program(config, mocks=mocks)
    wall = time.perf_counter() - start
    first = min(mocks.started.values())
    makespan = max(mocks.finished.values()) - first
    ideal = critical_path(sim) * scale
    return {
        "students": students,
        "resources": len(sim.resources),
        "makespan_s": makespan,
        "ideal_s": ideal,
        "ratio_to_ideal": makespan / ideal if ideal else 0,
        "wall_s": wall,
        "makespan_azure_min": makespan / scale / 60,
        "ideal_azure_min": ideal / scale / 60,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scale", type=float, default=0.01, help="simulated seconds per Azure second"
    )
    parser.add_argument("--students", default="1,30")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [run(int(n), args.scale) for n in args.students.split(",")]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        print(
            f"{r['students']:4d} students  {r['resources']:5d} resources  makespan {r['makespan_s']:.2f} s "
            f"(= {r['makespan_azure_min']:.1f} min in Azure time)  ideal {r['ideal_s']:.2f} s "
            f"(= {r['ideal_azure_min']:.1f} min)  x{r['ratio_to_ideal']:.2f} of ideal",
            flush=True,
        )
    if len(rows) > 1:
        print(
            f"makespan of {rows[-1]['students']} students / 1 student: "
            f"x{rows[-1]['makespan_s'] / rows[0]['makespan_s']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
