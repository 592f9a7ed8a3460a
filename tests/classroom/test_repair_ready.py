"""Done when: what a student deleted is back after refresh + up, and the readiness check says ready.

The student's Studio lives in the fake Synapse data plane (tests/fakes/synapse.py), where
the real providers put it and where the readiness check reads it; ARM and the data lake
are the fake Azure of the status tests. Between the two checks the providers are driven
as `pulumi refresh` and a targeted `pulumi up` drive them (read, then diff and update, or
create when refresh dropped the resource), through the engine's wire format.
"""

from __future__ import annotations

import pytest

from classroom.checking import checks
from components.data_plane import SYNAPSE_STUDENT_ROLES
from lab import cost_guard
from lab.roles import SYNAPSE_ADMINISTRATOR
from providers import client as _client
from providers.synapse import (
    PREDICT_RENTALS_SCRIPT_NAME,
    WEATHER_FORECAST_SCRIPT_NAME,
    predict_rentals_sql_script,
    weather_forecast_sql_script,
)
from providers.synapse.artifacts import WorkspaceArtifactsProvider
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from providers.synapse.pause_schedule import PauseScheduleProvider
from providers.synapse.rbac import SynapseRoleAssignmentsProvider, role_assignment_id
from tests.classroom.azure_fixtures import object_id
from tests.conftest import ROOT
from tests.fakes.azure import NOTEBOOKS, SQL_SCRIPTS, AzureCredential, environment
from tests.fakes.synapse import FAST, FakeSynapse, to_wire
from tests.providers.test_synapse_artifacts import with_hashes

TRIGGER = cost_guard.PAUSE_TRIGGER_NAME


def script_entry(spec, after=None):
    entry = {
        "template": spec.template,
        "values": dict(spec.values),
        "sql_pool_name": spec.sql_pool_name,
        "description": spec.description,
    }
    if spec.after:
        entry["after"] = spec.after
    return entry


def declared(env: dict, studio_url: str, oid: str):
    """(provider, inputs) of the student's data-plane resources, as the program declares them."""
    ws, pool = env["synapseWorkspace"], env["sqlPool"]
    artifacts = with_hashes(
        {
            "workspace_name": ws,
            "endpoint": studio_url,
            "spark_pool_name": env["sparkPool"],
            "parameters": {"data_lake_account": env["dataLake"], "sql_pool": pool},
            "notebooks": {name: {"path": f"notebooks/{name}.ipynb"} for name in NOTEBOOKS},
            "sql_scripts": {
                WEATHER_FORECAST_SCRIPT_NAME: script_entry(
                    weather_forecast_sql_script(pool, env["dataLake"])
                ),
                PREDICT_RENTALS_SCRIPT_NAME: script_entry(
                    predict_rentals_sql_script(pool, env["dataLake"])
                ),
            },
        }
    )
    assert sorted(artifacts["sql_scripts"]) == sorted(SQL_SCRIPTS)
    linked = {
        "workspace_name": ws,
        "linked_service_name": "AzureML",
        "subscription_id": env["subscription"],
        "resource_group_name": env["resourceGroup"],
        "ml_workspace_name": env["amlWorkspace"],
        "description": "Azure Machine Learning service",
        "endpoint": studio_url,
    }
    rbac = {
        "workspace_name": ws,
        "endpoint": studio_url,
        "assignments": [
            {"roleId": role, "principalId": oid, "principalType": "User"}
            for role in SYNAPSE_STUDENT_ROLES
        ],
    }
    pool_id = (
        f"/subscriptions/{env['subscription']}/resourceGroups/{env['resourceGroup']}/providers/"
        f"Microsoft.Synapse/workspaces/{ws}/sqlPools/{pool}"
    )
    # The cost guard, at the program's defaults for westeurope (23:00 Europe/Amsterdam).
    guard = {
        "workspace_name": ws,
        "endpoint": studio_url,
        "sql_pool_id": pool_id,
        "times": ["23:00"],
        "time_zone": "Europe/Amsterdam",
    }
    return [
        (WorkspaceArtifactsProvider(FAST), artifacts),
        (AzureMLLinkedServiceProvider(FAST), linked),
        (SynapseRoleAssignmentsProvider(FAST), rbac),
        (PauseScheduleProvider(FAST), guard),
    ]


@pytest.fixture
def studio(azure, azure_tls, monkeypatch):
    credential = AzureCredential()
    monkeypatch.setattr(_client, "make_credential", lambda: credential)
    monkeypatch.chdir(ROOT)  # the provider process runs in the project directory
    with FakeSynapse(azure_tls) as server:
        yield server


def readiness(azure, studio, env):
    [status] = checks.check_class(
        [env],
        credential=AzureCredential(),
        endpoints=checks.Endpoints(arm=azure.url, synapse=studio.url, dfs=azure.url + "/{account}"),
        settings=checks.CheckSettings(timeout=5, retries=0),
        prices=None,
        notebooks=NOTEBOOKS,
        sql_scripts=SQL_SCRIPTS,
    )
    return status


def test_a_student_who_deleted_four_things_is_ready_after_refresh_and_up(azure, studio):
    output = environment("ann")
    oid = object_id("ann")
    azure.add_student(output, object_id=oid, stack="spring-s2")
    env = checks.Environment.from_output("ann", output, object_id=oid, stack="spring-s2")
    resources = [
        (provider, inputs, provider.create(to_wire(inputs)))
        for provider, inputs in declared(output, studio.url, oid)
    ]
    assert readiness(azure, studio, env).ready

    # In Studio the student deletes a notebook, a SQL script, the linked service and stops
    # the pause trigger; someone removes their Synapse role. Another notebook they edited.
    del studio.artifacts["notebooks"]["02-train-automl"]
    del studio.artifacts["sqlScripts"][PREDICT_RENTALS_SCRIPT_NAME]
    del studio.artifacts["linkedservices"]["AzureML"]
    role = role_assignment_id(output["synapseWorkspace"], SYNAPSE_ADMINISTRATOR, oid)
    del studio.role_assignments[role]
    studio.studio_save("notebooks", "01-prepare-data", cell=0, text="# my notes\n")
    studio.artifacts["triggers"][TRIGGER]["properties"]["runtimeState"] = "Stopped"

    broken = readiness(azure, studio, env)
    assert not broken.ready and len(broken.problems) == 5
    assert broken.guard["state"] == "off" and broken.guard["reasons"] == ["trigger stopped"]
    fix = "run `python -m classroom repair --stack spring --student ann`"
    assert all(fix in problem for problem in broken.problems), broken.problems

    studio.reset_log()
    for provider, inputs, created in resources:  # refresh, then up
        read = provider.read(created.id, to_wire({**created.outs, "__provider": "blob"}))
        if not read.id:
            provider.create(to_wire(inputs))
        elif provider.diff(read.id, to_wire(read.outs), to_wire(inputs)).changes:
            provider.update(read.id, to_wire(read.outs), to_wire(inputs))

    assert sorted(r.path for r in studio.calls("PUT")) == sorted(
        [
            "/notebooks/02-train-automl",
            f"/sqlScripts/{PREDICT_RENTALS_SCRIPT_NAME}",
            "/linkedservices/AzureML",
            f"/roleAssignments/{role}",
            f"/triggers/{TRIGGER}",
        ]
    )
    # Nothing deleted, nothing else written: the trigger stopped before its PUT, started after.
    assert [(w.method, w.path) for w in studio.writes() if w.method != "PUT"] == [
        ("POST", f"/triggers/{TRIGGER}/stop"),
        ("POST", f"/triggers/{TRIGGER}/start"),
    ]
    edited = studio.artifacts["notebooks"]["01-prepare-data"]["properties"]["cells"][0]
    assert edited["source"] == ["# my notes\n"]  # the student's edit stays
    ready = readiness(azure, studio, env)
    assert ready.ready and ready.guard["state"] == "on"
    assert studio.trigger_state(TRIGGER) == "Started"


def whole_workspace(env: dict, studio_url: str, arm_url: str, oid: str):
    """Every data-plane resource of the student's workspace, with the workspace's ARM id (as
    components/data_plane.py declares them), the cost guard's schedule among them."""
    workspace_id = (
        f"/subscriptions/{env['subscription']}/resourceGroups/{env['resourceGroup']}"
        f"/providers/Microsoft.Synapse/workspaces/{env['synapseWorkspace']}"
    )
    resources = []
    for provider, inputs in declared(env, studio_url, oid):
        # The pause schedule knows its workspace from its sql_pool_id.
        if not isinstance(provider, PauseScheduleProvider):
            inputs = {**inputs, "workspace_id": workspace_id}
        resources.append((provider, {**inputs, "arm_endpoint": arm_url}))
    return workspace_id, resources


def test_a_deleted_workspace_is_whole_again_after_repair_on_the_recreated_one(azure, studio):
    """The workspace was deleted: its endpoint refuses connections, ARM answers 404 for it.
    Refresh drops every data-plane resource instead of failing; once `up` has created the
    workspace again (same name, same endpoint), it creates them all there: ready again."""
    output = environment("ben")
    oid = object_id("ben")
    azure.add_student(output, object_id=oid, stack="spring")
    env = checks.Environment.from_output("ben", output, object_id=oid, stack="spring")
    workspace_id, declared_here = whole_workspace(output, studio.url, azure.url, oid)
    resources = [
        (provider, inputs, provider.create(to_wire(inputs))) for provider, inputs in declared_here
    ]
    assert readiness(azure, studio, env).ready
    workspace = azure.get(workspace_id)

    azure.remove(workspace_id)  # deleted in the portal, and with it its endpoint
    studio.stop()
    broken = readiness(azure, studio, env)
    assert not broken.ready
    assert any(
        f"Synapse workspace '{output['synapseWorkspace']}'" in p
        and "run `python -m classroom repair --stack spring --student ben`" in p
        for p in broken.problems
    ), broken.problems
    azure.reset_log()

    # `classroom repair`: refresh (every read reports its resource gone, nothing fails) ...
    for provider, _, created in resources:
        read = provider.read(created.id, to_wire({**created.outs, "__provider": "blob"}))
        assert not read.id, type(provider).__name__
    asked = [r for r in azure.calls("GET") if r.path == workspace_id]
    assert len(asked) == len(resources)
    # ... then up: azure-native creates the workspace again, empty, at the same endpoint,
    azure.put(workspace_id, {k: v for k, v in workspace.items() if k not in ("id", "name")})
    studio.delete_workspace()
    studio.start()
    # and the data-plane resources are created in it.
    for provider, inputs, _ in resources:
        provider.create(to_wire(inputs))

    assert sorted(studio.artifacts["notebooks"]) == sorted(NOTEBOOKS)
    assert sorted(studio.artifacts["sqlScripts"]) == sorted(SQL_SCRIPTS)
    assert list(studio.artifacts["linkedservices"]) == ["AzureML"]
    assert sorted(studio.role_assignments) == sorted(
        role_assignment_id(output["synapseWorkspace"], role, oid) for role in SYNAPSE_STUDENT_ROLES
    )
    assert [studio.trigger_state(t) for t in studio.artifacts["triggers"]] == ["Started"]
    assert readiness(azure, studio, env).ready
