"""How long `python -m classroom progress` takes for a class, against the tests' services.

    venv/bin/python bench/bench_progress.py                       # 200 students, concurrency 8 and 16
    venv/bin/python bench/bench_progress.py --students 30 --concurrency 16 --latency 0.15,0.4

The lakes are Azurite (tests/fakes/azurite.py), Log Analytics and Azure ML the fake of
tests/fakes/progress.py, read by the real SDK clients over HTTPS on 127.0.0.1. Every call
waits a random 150-400 ms (``--latency``): the fake sleeps before it answers, and the calls to
Azurite (which has no such option) wait as long in the HTTP transport. Half the class has
done part 1; each student's Azure ML workspace holds three jobs. Target: a class of 200 in
under a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from classroom.checking import progress  # noqa: E402
from classroom.checking.checks import Environment  # noqa: E402
from lab import steps  # noqa: E402
from tests.fakes import azurite  # noqa: E402
from tests.fakes.progress import FakeProgressAzure, ProgressCredential  # noqa: E402
from tests.fakes.synapse import make_tls_files  # noqa: E402


def slow_lake(port: int, latency: tuple[float, float]) -> None:
    """Calls to Azurite wait ``latency`` in the requests transport (the network's share)."""
    from azure.core.pipeline.transport import RequestsTransport

    send = RequestsTransport.send

    def delayed(self, request, **kwargs):  # type: ignore[no-untyped-def]
        if f":{port}/" in request.url:
            time.sleep(random.uniform(*latency))
        return send(self, request, **kwargs)

    RequestsTransport.send = delayed  # type: ignore[method-assign]


def environment(n: int) -> Environment:
    sfx = f"b{n:06d}"
    return Environment.from_output(
        f"s{n:04d}",
        {
            "subscription": "00000000-0000-0000-0000-00000000000a",
            "resourceGroup": f"dp000-{sfx}",
            "synapseWorkspace": f"synapse{sfx}",
            "synapseStudioUrl": "https://web.azuresynapse.net",
            "sparkPool": f"spark{sfx}",
            "sqlPool": f"sql{sfx}",
            "dataLake": f"datalake{sfx}",
            "amlWorkspace": f"aml{sfx}",
            "amlStudioUrl": "https://ml.azure.com",
            "logAnalyticsWorkspaceId": f"00000000-0000-4000-8000-{n:012d}",
        },
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench_progress.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--concurrency", default="8,16")
    parser.add_argument("--latency", default="0.15,0.4", help="seconds per call: lo,hi")
    args = parser.parse_args()
    why = azurite.unavailable()
    if why:
        print(f"cannot run: {why}", file=sys.stderr)
        return 2
    lo, hi = (float(x) for x in args.latency.split(","))
    work = Path(tempfile.mkdtemp(prefix="bench-progress-"))
    tls = make_tls_files(work / "tls")
    os.environ["REQUESTS_CA_BUNDLE"] = tls[0]
    os.environ["NO_PROXY"] = "127.0.0.1,localhost"
    envs = [environment(n) for n in range(args.students)]
    credential = ProgressCredential()
    now = dt.datetime.now(dt.UTC)
    lakes = azurite.Azurite([e.data_lake for e in envs], tls[1], tls[2], work).start()
    try:
        with FakeProgressAzure(tls, latency=(lo, hi)) as fake:
            os.environ["AZUREML_DEV_URL_MFE"] = fake.url
            for n, e in enumerate(envs):
                lake = lakes.container(e.data_lake, steps.LAKE_CONTAINER, credential)
                lake.create_container()
                fake.add_log_workspace(e.log_analytics_workspace_id or "")
                fake.add_ml_workspace(e.aml_workspace)
                for k in range(3):
                    fake.add_job(
                        e.aml_workspace,
                        steps.experiment_name(),
                        "Completed",
                        now - dt.timedelta(minutes=10 + k),
                    )
                if n % 2 == 0:
                    lake.upload_blob(
                        steps.table_prefix(e.synapse_workspace) + "part-00000.parquet", b"PAR1"
                    )
                    fake.add_model(e.aml_workspace, steps.model_name(), 1, now)
            slow_lake(lakes.port, (lo, hi))
            print(f"{args.students} students, {lo * 1000:.0f}-{hi * 1000:.0f} ms per call")
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                fake.reset_log()
                started = time.perf_counter()
                rows, _, queries = progress.read_class(
                    envs,
                    credential,
                    progress.ProgressSettings(concurrency=concurrency, retries=0),
                    progress.ProgressEndpoints(logs=fake.url, blob=lakes.endpoint),
                )
                seconds = time.perf_counter() - started
                unreadable = sum(not r.readable for r in rows)
                calls = len(fake.requests) + 2 * len(envs)  # + the two lake calls per student
                print(
                    f"concurrency {concurrency:>3}: {seconds:6.1f} s wall, {calls} calls "
                    f"({calls / len(envs):.1f} per student, {queries} Log Analytics queries), "
                    f"{unreadable} unreadable"
                )
    finally:
        lakes.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
