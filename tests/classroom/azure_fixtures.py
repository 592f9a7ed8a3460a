"""Fixtures for the readiness check: a running fake Azure and clients pointed at it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from classroom.checking import checks
from tests.fakes.azure import NOTEBOOKS, SQL_SCRIPTS, AzureCredential, FakeAzure, environment
from tests.fakes.synapse import make_tls_files, trust_fake


def object_id(student: str) -> str:
    """A stable Entra ID object id per student."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"student/{student}"))


@pytest.fixture(scope="session")
def azure_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return make_tls_files(tmp_path_factory.mktemp("fake-azure-tls"))


@pytest.fixture
def azure(azure_tls, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAzure]:
    """A running fake Azure the SDK clients trust (through REQUESTS_CA_BUNDLE), no proxy in the way."""
    trust_fake(monkeypatch, azure_tls[0])
    with FakeAzure(azure_tls) as server:
        yield server


def endpoints(fake: FakeAzure) -> checks.Endpoints:
    return checks.Endpoints(
        arm=fake.url, synapse=fake.url + "/synapse/{workspace}", dfs=fake.url + "/{account}"
    )


def add(
    fake: FakeAzure, student: str, *, with_object_id: bool = True, **kwargs: Any
) -> checks.Environment:
    """A complete, ready environment in the fake, and the Environment the check reads from the outputs."""
    output = environment(student, sql_pool=kwargs.pop("sql_pool", ""))
    oid = object_id(student) if with_object_id else None
    fake.add_student(output, object_id=oid, **kwargs)
    return checks.Environment.from_output(student, output, object_id=oid, stack="dev")


def check(
    fake: FakeAzure,
    envs: list[checks.Environment],
    settings: checks.CheckSettings | None = None,
    **kwargs: Any,
) -> dict[str, checks.StudentStatus]:
    from classroom.planning.costs import PriceTable

    results = checks.check_class(
        envs,
        credential=AzureCredential(),
        endpoints=endpoints(fake),
        settings=settings or checks.CheckSettings(timeout=5, retries=0, concurrency=4),
        prices=PriceTable.load(),
        notebooks=NOTEBOOKS,
        sql_scripts=SQL_SCRIPTS,
        **kwargs,
    )
    return {r.env.student: r for r in results}


def arm_id(env: checks.Environment, *parts: str) -> str:
    return "/".join([env.resource_group_id, *parts])


def synapse_id(env: checks.Environment, *parts: str) -> str:
    return arm_id(env, "providers/Microsoft.Synapse/workspaces", env.synapse_workspace, *parts)


def ml_id(env: checks.Environment, *parts: str) -> str:
    return arm_id(
        env, "providers/Microsoft.MachineLearningServices/workspaces", env.aml_workspace, *parts
    )
