"""What `classroom status` checks for one student, and how: the Azure SDK calls and their words.

Each student's checks run in groups (resource group, Synapse, data lake, Synapse
Studio, Azure ML, access). Every SDK call has a timeout; a missing resource, a
refusal, a timeout or a server error becomes a :class:`Finding` in words a person
can act on and ends only its group, so one failure never hides the rest of that
student, let alone the other students. :func:`check_class` checks a class with a
bounded pool of threads; :func:`wait_until_ready` re-checks who is not ready.
Nothing here changes anything in Azure: every call is a read.

The groups live in ``readiness/`` by what they read: ``provisioning`` (ARM: the resource
group, Synapse and its pools, Azure ML), ``data_plane`` (the data lake's files, Synapse
Studio), ``roles`` (ARM and Synapse role assignments) and ``cost`` (prices of what was
seen), on ``base`` (findings, SDK errors in words) and ``model`` (the environment, the
settings, the verdicts). This module puts them together and keeps their names importable.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from classroom.planning.costs import PriceTable

from .readiness.base import _Skip, describe_error, provisioning_advice
from .readiness.cost import _Cost
from .readiness.data_plane import _DataPlane
from .readiness.model import (
    ARM_SCOPE,
    AUTOML,
    DATA_DIRECTORY,
    DATA_FILES,
    DATA_FILESYSTEM,
    EXPIRES_TAG,
    LINKED_SERVICE,
    LOGS,
    ML_COMPUTE,
    NOT_READY,
    OPTIONAL_OUTPUT_KEYS,
    OUTPUT_KEYS,
    READY,
    SPARK_POOL,
    SQL_POOL,
    SQL_STORAGE,
    STORAGE,
    WARNING,
    CheckSettings,
    Endpoints,
    Environment,
    Finding,
    StatusError,
    StudentStatus,
    azure_core_kwargs,
    class_of,
    cost_by_category,
    cost_category,
    lab_notebooks,
    lab_sql_scripts,
    repair_command,
    up_command,
)
from .readiness.provisioning import _Provisioning
from .readiness.roles import _Roles

__all__ = [
    "ARM_SCOPE",
    "AUTOML",
    "DATA_DIRECTORY",
    "DATA_FILES",
    "DATA_FILESYSTEM",
    "EXPIRES_TAG",
    "LINKED_SERVICE",
    "LOGS",
    "ML_COMPUTE",
    "NOT_READY",
    "OPTIONAL_OUTPUT_KEYS",
    "OUTPUT_KEYS",
    "READY",
    "SPARK_POOL",
    "SQL_POOL",
    "SQL_STORAGE",
    "STORAGE",
    "WARNING",
    "CheckSettings",
    "Endpoints",
    "Environment",
    "Finding",
    "StatusError",
    "StudentStatus",
    "azure_core_kwargs",
    "check_class",
    "check_student",
    "class_of",
    "cost_by_category",
    "cost_category",
    "describe_error",
    "lab_notebooks",
    "lab_sql_scripts",
    "provisioning_advice",
    "repair_command",
    "up_command",
    "wait_until_ready",
]


class _Student(_Provisioning, _DataPlane, _Roles, _Cost):
    """The checks of one student: each group runs on its own, a failure ends that group only."""

    def run(self) -> StudentStatus:
        started = time.monotonic()
        self.status.checked_at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        if self.env.not_deployed:
            self.problem("deployment", self.env.not_deployed)
            self.status.seconds = 0.0
            return self.status
        groups = (
            self.check_resource_group,
            self.check_synapse,
            self.check_data_lake,
            self.check_studio,
            self.check_cost_guard,
            self.check_machine_learning,
            self.check_roles,
        )
        for n, group in enumerate(groups):
            if time.monotonic() - started > self.settings.student_budget:
                left = ", ".join(
                    g.__name__.removeprefix("check_").replace("_", " ") for g in groups[n:]
                )
                self.problem(
                    "check",
                    f"stopped after {self.settings.student_budget:g} s of slow or failing "
                    f"answers; not checked: {left}. Check again later (`--wait`)",
                )
                break
            try:
                group()
            except _Skip:
                pass
            except Exception as error:  # a bug or an SDK surprise: still only this group
                self.problem(
                    group.__name__.removeprefix("check_").replace("_", " "),
                    f"unexpected {type(error).__name__}: {error}",
                )
        self.estimate_cost()
        self.status.seconds = time.monotonic() - started
        return self.status


# ----------------------------------------------------------------------------- the class


def check_student(
    env: Environment,
    *,
    credential: Any,
    endpoints: Endpoints = Endpoints(),
    settings: CheckSettings = CheckSettings(),
    prices: PriceTable | None = None,
    notebooks: Sequence[str] | None = None,
    sql_scripts: Sequence[str] | None = None,
) -> StudentStatus:
    return _Student(
        env,
        credential,
        endpoints,
        settings,
        prices,
        lab_notebooks() if notebooks is None else notebooks,
        lab_sql_scripts() if sql_scripts is None else sql_scripts,
    ).run()


def check_class(
    envs: Sequence[Environment],
    *,
    credential: Any,
    endpoints: Endpoints = Endpoints(),
    settings: CheckSettings = CheckSettings(),
    prices: PriceTable | None = None,
    notebooks: Sequence[str] | None = None,
    sql_scripts: Sequence[str] | None = None,
    progress: Callable[[StudentStatus], None] | None = None,
) -> list[StudentStatus]:
    """Every student, at most ``settings.concurrency`` at once, in roster order."""
    notebooks = lab_notebooks() if notebooks is None else tuple(notebooks)
    sql_scripts = lab_sql_scripts() if sql_scripts is None else tuple(sql_scripts)

    def one(env: Environment) -> StudentStatus:
        try:
            status = check_student(
                env,
                credential=credential,
                endpoints=endpoints,
                settings=settings,
                prices=prices,
                notebooks=notebooks,
                sql_scripts=sql_scripts,
            )
        except Exception as error:  # never lose the others to one student
            status = StudentStatus(
                env, [Finding("check", NOT_READY, f"the check itself failed: {error}")]
            )
        if progress is not None:
            progress(status)
        return status

    if not envs:
        return []
    with ThreadPoolExecutor(
        max_workers=max(1, min(settings.concurrency, len(envs))), thread_name_prefix="status"
    ) as pool:
        return list(pool.map(one, envs))


def wait_until_ready(
    envs: Sequence[Environment],
    check: Callable[[Sequence[Environment]], list[StudentStatus]],
    deadline_seconds: float,
    interval: float,
    on_round: Callable[[int, list[StudentStatus]], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], float] = time.monotonic,
) -> list[StudentStatus]:
    """Check, then re-check only the students not ready, until all are or the deadline passes."""
    end = now() + deadline_seconds
    results: dict[str, StudentStatus] = {}
    pending = list(envs)
    round_no = 0
    while True:
        round_no += 1
        for status in check(pending):
            results[status.env.student] = status
        ordered = [results[e.student] for e in envs]
        if on_round is not None:
            on_round(round_no, ordered)
        pending = [e for e in envs if not results[e.student].ready]
        if not pending or now() + interval > end:
            return ordered
        sleep(interval)
