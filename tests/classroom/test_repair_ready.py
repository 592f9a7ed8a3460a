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
from lab.roles import SYNAPSE_CONTRIBUTOR
from providers import client as _client
from providers.synapse import (
    PREDICT_RENTALS_SCRIPT_NAME,
    WEATHER_FORECAST_SCRIPT_NAME,
    predict_rentals_sql_script,
    weather_forecast_sql_script,
)
from providers.synapse.artifacts import WorkspaceArtifactsProvider
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from providers.synapse.rbac import SynapseRoleAssignmentsProvider, role_assignment_id
from tests.classroom.azure_fixtures import object_id
from tests.conftest import ROOT
from tests.fakes.azure import NOTEBOOKS, SQL_SCRIPTS, AzureCredential, environment
from tests.fakes.synapse import FAST, FakeSynapse, to_wire
from tests.providers.test_synapse_artifacts import with_hashes


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
    return [
        (WorkspaceArtifactsProvider(FAST), artifacts),
        (AzureMLLinkedServiceProvider(FAST), linked),
        (SynapseRoleAssignmentsProvider(FAST), rbac),
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

    # In Studio the student deletes a notebook, a SQL script, the linked service; someone
    # removes their Synapse role. Another notebook they edited.
    del studio.artifacts["notebooks"]["02-train-automl"]
    del studio.artifacts["sqlScripts"][PREDICT_RENTALS_SCRIPT_NAME]
    del studio.artifacts["linkedservices"]["AzureML"]
    role = role_assignment_id(output["synapseWorkspace"], SYNAPSE_CONTRIBUTOR, oid)
    del studio.role_assignments[role]
    studio.studio_save("notebooks", "01-prepare-data", cell=0, text="# my notes\n")

    broken = readiness(azure, studio, env)
    assert not broken.ready and len(broken.problems) == 4
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
        ]
    )
    assert studio.writes() == studio.calls("PUT")  # nothing deleted, nothing else written
    edited = studio.artifacts["notebooks"]["01-prepare-data"]["properties"]["cells"][0]
    assert edited["source"] == ["# my notes\n"]  # the student's edit stays
    assert readiness(azure, studio, env).ready
