"""Fixtures of the progress tests: Azurite for the lakes, the fake Log Analytics and Azure ML, a class."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from classroom.checking.checks import Environment
from classroom.checking.progress import ProgressEndpoints
from lab import steps
from tests.conftest import missing_tool
from tests.fakes import azurite
from tests.fakes.progress import FakeProgressAzure, ProgressCredential
from tests.fakes.synapse import trust_fake

# The students of the class the tests read; each has a lake in Azurite.
STUDENTS = ("ann", "bob", "cat", "dan", "eve")
SUFFIX = {s: f"{s}0000" for s in STUDENTS}  # 7 characters, as lab/naming.py makes them
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def law_id(student: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"law:{student}"))


def env_of(student: str, with_logs: bool = True) -> Environment:
    sfx = SUFFIX[student]
    value = {
        "subscription": "00000000-0000-0000-0000-00000000000a",
        "resourceGroup": f"dp000-{sfx}",
        "synapseWorkspace": f"synapse{sfx}",
        "synapseStudioUrl": f"https://web.azuresynapse.net?workspace=synapse{sfx}",
        "sparkPool": f"spark{sfx}",
        "sqlPool": f"sql{sfx}",
        "dataLake": f"datalake{sfx}",
        "amlWorkspace": f"aml{sfx}",
        "amlStudioUrl": f"https://ml.azure.com/workspaces/aml{sfx}",
    }
    if with_logs:
        value["logAnalyticsWorkspaceId"] = law_id(student)
    return Environment.from_output(student, value, stack="dev")


@dataclass
class ProgressWorld:
    fake: FakeProgressAzure
    lakes: azurite.Azurite
    credential: ProgressCredential
    endpoints: ProgressEndpoints

    def lake(self, student: str):
        return self.lakes.container(
            f"datalake{SUFFIX[student]}", steps.LAKE_CONTAINER, self.credential
        )

    def prepared(self, student: str) -> None:
        """What notebook 01's saveAsTable leaves in the lake: a directory, part files, _SUCCESS."""
        prefix = steps.table_prefix(f"synapse{SUFFIX[student]}")
        lake = self.lake(student)
        lake.upload_blob(prefix.rstrip("/"), b"", metadata={"hdi_isfolder": "true"}, overwrite=True)
        lake.upload_blob(prefix + "_SUCCESS", b"", overwrite=True)
        lake.upload_blob(
            prefix + "part-00000-1f2e.c000.snappy.parquet", b"PAR1" * 100, overwrite=True
        )

    def model_rows(self, student: str) -> None:
        self.lake(student).upload_blob(
            steps.model_rows_path(), b"1,1,1,model,0A0B\n" * 3, overwrite=True
        )


@pytest.fixture(scope="module")
def lakes(azure_tls, tmp_path_factory) -> Iterator[azurite.Azurite]:
    why = azurite.unavailable()
    if why:
        missing_tool(why)
    server = azurite.Azurite(
        [f"datalake{SUFFIX[s]}" for s in STUDENTS],
        azure_tls[1],
        azure_tls[2],
        tmp_path_factory.mktemp("azurite"),
    ).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def world(lakes, azure_tls, monkeypatch) -> Iterator[ProgressWorld]:
    trust_fake(monkeypatch, azure_tls[0])
    credential = ProgressCredential()
    # A fresh container per test: the lakes outlive a test (Azurite starts once per module).
    for student in STUDENTS:
        container = lakes.container(f"datalake{SUFFIX[student]}", steps.LAKE_CONTAINER, credential)
        if container.exists():
            container.delete_container()
        container.create_container()
    with FakeProgressAzure(azure_tls) as fake:
        # azure-ai-ml reads its base URL from AZUREML_DEV_URL_MFE (azure/ai/ml/_utils/utils.py).
        monkeypatch.setenv("AZUREML_DEV_URL_MFE", fake.url)
        yield ProgressWorld(
            fake, lakes, credential, ProgressEndpoints(logs=fake.url, blob=lakes.endpoint)
        )
