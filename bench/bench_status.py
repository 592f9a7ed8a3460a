"""How long `python -m classroom status` takes for a class, against the test suite's fake Azure.

    venv/bin/python bench/bench_status.py                       # 30 and 200 students, concurrency 8 and 16
    venv/bin/python bench/bench_status.py --students 30 --concurrency 4,8 --latency 0.1

Every student is complete and ready; each answer of the fake is delayed by
``--latency`` seconds (Azure's answers take 50-300 ms), so the figures show what
the bounded concurrency buys. The calls are the real SDK clients over HTTPS on
127.0.0.1: TLS handshakes and the SDKs' own work are in the figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom.checking import checks  # noqa: E402
from classroom.planning.costs import PriceTable  # noqa: E402
from tests.fakes.azure import AzureCredential, FakeAzure, environment  # noqa: E402
from tests.fakes.synapse import make_tls_files  # noqa: E402


def run(students: int, concurrency: int, latency: float, tls: tuple[str, str, str]) -> dict:
    with FakeAzure(tls) as fake:
        envs = []
        for i in range(students):
            output = environment(f"s{i:04d}", suffix=f"s{i:06d}")
            fake.add_student(output, object_id=f"00000000-0000-4000-8000-{i:012d}")
            envs.append(
                checks.Environment.from_output(
                    f"s{i:04d}", output, object_id=f"00000000-0000-4000-8000-{i:012d}"
                )
            )
        if latency:
            fake.fail(None, ".*", delay=latency, count=10**9)
        endpoints = checks.Endpoints(
            arm=fake.url, synapse=fake.url + "/synapse/{workspace}", dfs=fake.url + "/{account}"
        )
        started = time.perf_counter()
        results = checks.check_class(
            envs,
            credential=AzureCredential(),
            endpoints=endpoints,
            settings=checks.CheckSettings(timeout=30, retries=0, concurrency=concurrency),
            prices=PriceTable.load(),
        )
        seconds = time.perf_counter() - started
        ready = sum(r.ready for r in results)
        calls = len(fake.requests)
    return {
        "students": students,
        "concurrency": concurrency,
        "latency": latency,
        "ready": ready,
        "calls": calls,
        "seconds": seconds,
        "per_student": seconds / students,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", default="30,200")
    parser.add_argument("--concurrency", default="8,16")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every answer")
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    with tempfile.TemporaryDirectory() as tmp:
        tls = make_tls_files(Path(tmp))
        os.environ["REQUESTS_CA_BUNDLE"] = tls[0]
        print(
            f"{'students':>8} {'concurrency':>11} {'latency':>8} {'calls':>6} {'ready':>6} {'seconds':>8} {'s/student':>9}"
        )
        for n in (int(x) for x in args.students.split(",")):
            for c in (int(x) for x in args.concurrency.split(",")):
                r = run(n, c, args.latency, tls)
                print(
                    f"{r['students']:>8} {r['concurrency']:>11} {r['latency']:>8.2f} {r['calls']:>6} "
                    f"{r['ready']:>6} {r['seconds']:>8.1f} {r['per_student']:>9.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
