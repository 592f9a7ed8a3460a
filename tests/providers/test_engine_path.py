"""The resources as a Pulumi program sees them (under ``set_mocks``), and the engine's path to the providers.

- 1500 dynamic resources in one program: no RecursionError, the pickler is left as found.
- What each resource sends to the engine (inputs, type token), and that the hashes the
  program computes are the ones the provider computes (else every `up` would update).
- The provider blob the engine stores decodes in a fresh process (pickled by
  reference; the module imports without declaring anything) and, decoded, drives
  the fake service from the very inputs the program produced.
"""

from __future__ import annotations

import base64
import json
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import dill
import pulumi
import pulumi.dynamic
import pytest

from lab.roles import SYNAPSE_ADMINISTRATOR
from providers.base import pickler_guard
from providers.synapse import (
    WEATHER_FORECAST_SCRIPT_NAME,
    AzureMLLinkedService,
    SqlPoolPause,
    SynapseRoleAssignmentArgs,
    SynapseRoleAssignments,
    WorkspaceArtifacts,
    weather_forecast_sql_script,
)
from providers.synapse.artifacts import (
    ArtifactDefinitionError,
    content_sha256,
    notebook_body,
    sql_script_body,
)
from tests.fakes.synapse import FAST, to_wire, write_notebook

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PROVIDER_KEY = "__provider"


class RecordingMocks(pulumi.runtime.Mocks):
    """Returns inputs as outputs; records every registration (mocks run on worker threads)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        with self.lock:
            self.resources[args.name] = args
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}, None


@pytest.fixture
def mocks() -> RecordingMocks:
    recording = RecordingMocks()
    pulumi.runtime.set_mocks(recording, preview=False)
    return recording


def pickler_state():
    return (
        pickle.Pickler,
        vars(pickle._Pickler)["_batch_setitems"],
        vars(pickle._Pickler)["save_dict"],
    )


# ----------------------------------------------------------------------------- the scale trap


def test_the_trap_is_real_for_plain_dynamic_resources_and_the_guard_undoes_it(mocks):
    class Noop(pulumi.dynamic.ResourceProvider):
        def create(self, props):
            return pulumi.dynamic.CreateResult("x", props)

    class Plain(pulumi.dynamic.Resource):  # what the project would get without LabDynamicResource
        pass

    before = pickler_state()

    @pulumi.runtime.test
    def program():
        with pickler_guard():
            Plain(Noop(), "plain-1", {})
            wrapped_once = vars(pickle._Pickler)["_batch_setitems"]
            Plain(Noop(), "plain-2", {})
            wrapped_twice = vars(pickle._Pickler)["_batch_setitems"]
            # Each plain constructor wraps the previous wrapper: this is the growing stack.
            assert wrapped_once is not before[1] and wrapped_twice is not wrapped_once
        return None

    program()
    assert pickler_state() == before


def test_1500_lab_dynamic_resources_in_one_program(mocks):
    before = pickler_state()
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": ['data_lake_account = "datalakexxxxxxx"'],
                "outputs": [],
            }
        ]
    }
    count = 1500

    @pulumi.runtime.test
    def program():
        outputs = []
        for i in range(count // 4):
            student = f"s{i:04d}"
            linked = AzureMLLinkedService(
                f"{student}-aml",
                workspace_name=f"synapse{student}",
                subscription_id="sub",
                resource_group_name=f"rg-{student}",
                ml_workspace_name=f"aml{student}",
            )
            artifacts = WorkspaceArtifacts(
                f"{student}-artifacts",
                workspace_name=f"synapse{student}",
                spark_pool_name=f"spark{student}",
                notebooks={"01": notebook},
                parameters={"data_lake_account": f"datalake{student}"},
            )
            pause = SqlPoolPause(
                f"{student}-pause", sql_pool_id=f"/subscriptions/s/sqlPools/sql{student}"
            )
            rbac = SynapseRoleAssignments(
                f"{student}-rbac",
                workspace_name=f"synapse{student}",
                assignments=[SynapseRoleAssignmentArgs(SYNAPSE_ADMINISTRATOR, "p", "User")],
            )
            # The depth never grows: after each constructor the pickler is the original one.
            assert pickler_state() == before
            outputs += [
                linked.linked_service_name,
                artifacts.notebooks,
                pause.sql_pool_id,
                rbac.workspace_name,
            ]
        return pulumi.Output.all(*outputs).apply(lambda values: len(values))

    program()
    assert len(mocks.resources) == count
    assert pickler_state() == before
    # The pickler still pickles dicts after all that (a RecursionError would show here).
    assert pickle.loads(pickle._dumps({"a": {"b": 1}})) == {"a": {"b": 1}}


# ----------------------------------------------------------------------------- what the program registers


def test_resources_register_the_expected_inputs_and_type_tokens(mocks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(
        tmp_path / "notebooks" / "01-load-data.ipynb", {"data_lake_account": "x", "max_trials": 3}
    )
    seen = {}

    @pulumi.runtime.test
    def program():
        linked = AzureMLLinkedService(
            "s1-aml",
            workspace_name="synapseabc",
            subscription_id="sub",
            resource_group_name="rg",
            ml_workspace_name="amlabc",
        )
        artifacts = WorkspaceArtifacts(
            "s1-artifacts",
            workspace_name="synapseabc",
            spark_pool_name=pulumi.Output.from_input("sparkabc"),
            notebooks={"01-load-data": tmp_path / "notebooks" / "01-load-data.ipynb"},
            parameters={
                "data_lake_account": pulumi.Output.from_input("datalakeabc"),
                "max_trials": 7,
            },
            sql_scripts={
                WEATHER_FORECAST_SCRIPT_NAME: weather_forecast_sql_script("sqlabc", "datalakeabc")
            },
        )
        rbac = SynapseRoleAssignments(
            "s1-rbac",
            workspace_name="synapseabc",
            assignments=[
                {"role_id": SYNAPSE_ADMINISTRATOR, "principal_id": "p1", "principal_type": "User"}
            ],
        )
        pause = SqlPoolPause("s1-pause", sql_pool_id="/subscriptions/s/x/sqlPools/sqlabc")

        def check(values):
            seen.update(
                zip(("ls_name", "notebooks", "scripts", "assignments", "pool"), values, strict=True)
            )

        return pulumi.Output.all(
            linked.linked_service_name,
            artifacts.notebooks,
            artifacts.sql_scripts,
            rbac.assignments,
            pause.sql_pool_id,
        ).apply(check)

    program()
    types = {name: args.typ for name, args in mocks.resources.items()}
    assert types == {
        "s1-aml": "pulumi-python:dynamic/synapse-ml-lab:AzureMLLinkedService",
        "s1-artifacts": "pulumi-python:dynamic/synapse-ml-lab:WorkspaceArtifacts",
        "s1-rbac": "pulumi-python:dynamic/synapse-ml-lab:SynapseRoleAssignments",
        "s1-pause": "pulumi-python:dynamic/synapse-ml-lab:SqlPoolPause",
    }
    assert seen["ls_name"] == "AzureML"
    assert seen["assignments"] == [
        {"roleId": SYNAPSE_ADMINISTRATOR, "principalId": "p1", "principalType": "User"}
    ]
    assert seen["pool"] == "/subscriptions/s/x/sqlPools/sqlabc"

    inputs = {k: v for k, v in mocks.resources["s1-artifacts"].inputs.items() if k != PROVIDER_KEY}
    # The path is kept relative (portable state) and no notebook text is in the state.
    assert inputs["notebooks"] == {
        "01-load-data": {
            "path": "notebooks/01-load-data.ipynb",
            "sha256": seen["notebooks"]["01-load-data"]["sha256"],
        }
    }
    assert "cells" not in json.dumps(inputs)
    # The program's hashes are exactly what the provider computes from the same inputs after the wire.
    wire = to_wire(inputs)
    entry = wire["notebooks"]["01-load-data"]
    assert entry["sha256"] == content_sha256(
        notebook_body(entry, {**wire, "parameters": wire["parameters"]})
    )
    body = notebook_body(entry, wire)
    assert body["cells"][1]["source"][1:] == [
        "data_lake_account = 'datalakeabc'\n",
        "max_trials = 7",
    ]
    script = wire["sql_scripts"][WEATHER_FORECAST_SCRIPT_NAME]
    assert script["sha256"] == content_sha256(sql_script_body(script, wire))
    assert script["sql_pool_name"] == "sqlabc"
    assert script["values"] == {
        "data_lake_account_name": "datalakeabc",
        "data_lake_filesystem": "files",
    }


def test_a_bad_notebook_fails_when_the_resource_is_declared(mocks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="missing.ipynb"):
        WorkspaceArtifacts(
            "x", workspace_name="w", spark_pool_name="p", notebooks={"nb": "missing.ipynb"}
        )
    with pytest.raises(ArtifactDefinitionError, match="notebook name"):
        WorkspaceArtifacts(
            "x", workspace_name="w", spark_pool_name="p", notebooks={"bad/name": {"cells": []}}
        )


# ----------------------------------------------------------------------------- the engine's path to the provider


def _provider_blob(args: pulumi.runtime.MockResourceArgs) -> str:
    blob = args.inputs[PROVIDER_KEY]
    assert isinstance(blob, str)
    return blob


def test_provider_blob_is_small_by_reference_and_loads_in_a_fresh_process(mocks):
    @pulumi.runtime.test
    def program():
        return AzureMLLinkedService(
            "s1-aml",
            workspace_name="w",
            subscription_id="s",
            resource_group_name="r",
            ml_workspace_name="m",
            retry=FAST,
        ).workspace_name

    program()
    blob = _provider_blob(mocks.resources["s1-aml"])
    raw = base64.b64decode(blob)
    assert b"providers.synapse.linked_service" in raw and len(raw) < 2000
    script = (
        "import base64, sys, dill\n"
        "provider = dill.loads(base64.b64decode(sys.stdin.read()))\n"
        "print(type(provider).__module__, type(provider).__name__, provider.retry.max_attempts)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=blob,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [
        "providers.synapse.linked_service",
        "AzureMLLinkedServiceProvider",
        str(FAST.max_attempts),
    ]


def test_program_inputs_drive_the_decoded_provider_through_a_whole_cycle(mocks, fake, tmp_path):
    write_notebook(tmp_path / "nb" / "01.ipynb", {"data_lake_account": "x", "max_trials": 2})
    write_notebook(tmp_path / "nb" / "02.ipynb", {"data_lake_account": "x"})

    @pulumi.runtime.test
    def program():
        return WorkspaceArtifacts(
            "s1-artifacts",
            workspace_name="synapseabc",
            spark_pool_name="sparkabc",
            endpoint=fake.url,
            notebooks={"01": "nb/01.ipynb", "02": "nb/02.ipynb"},
            parameters={"data_lake_account": "datalakeabc", "max_trials": 5},
            retry=FAST,
        ).notebooks

    program()
    registered = mocks.resources["s1-artifacts"]
    provider = dill.loads(base64.b64decode(_provider_blob(registered)))
    news = to_wire({k: v for k, v in registered.inputs.items() if k != PROVIDER_KEY})

    created = provider.create(news)
    olds = to_wire(created.outs)  # the engine stores outputs; ints come back as floats
    assert provider.diff(created.id, olds, news).changes is False
    assert sorted(fake.artifacts["notebooks"]) == ["01", "02"]
    assert (
        fake.artifacts["notebooks"]["01"]["properties"]["cells"][1]["source"][2] == "max_trials = 5"
    )
    fake.reset_log()
    provider.update(created.id, olds, news)
    assert fake.requests == []
    provider.delete(created.id, olds)
    assert fake.artifacts["notebooks"] == {}


def test_the_pause_schedule_survives_the_engine_and_runs_a_whole_cycle(mocks, fake):
    from providers.synapse.pause_schedule import PauseSchedule

    @pulumi.runtime.test
    def program():
        return PauseSchedule(
            "s1-pause-schedule",
            workspace_name="synapseabc",
            sql_pool_id="/subscriptions/s/resourceGroups/r/providers/Microsoft.Synapse/workspaces/"
            "synapseabc/sqlPools/sqlabc",
            times=["23:00"],
            time_zone="Europe/Amsterdam",
            endpoint=fake.url,
            retry=FAST,
        ).workspace_name

    program()
    registered = mocks.resources["s1-pause-schedule"]
    assert registered.typ == "pulumi-python:dynamic/synapse-ml-lab:PauseSchedule"
    raw = base64.b64decode(_provider_blob(registered))
    assert b"providers.synapse.pause_schedule" in raw and len(raw) < 2000
    provider = dill.loads(raw)
    news = to_wire({k: v for k, v in registered.inputs.items() if k != PROVIDER_KEY})
    created = provider.create(news)
    olds = to_wire(created.outs)
    assert provider.diff(created.id, olds, news).changes is False
    assert fake.trigger_state("Pause SQL pool schedule") == "Started"
    provider.delete(created.id, olds)
    assert fake.artifacts["triggers"] == {} and fake.artifacts["pipelines"] == {}
