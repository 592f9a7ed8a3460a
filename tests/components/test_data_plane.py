"""The data-plane resources of each student, declared under mocks with the right inputs and order."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import run_program
from components.data_plane import lab_notebooks
from providers.synapse import (
    PREDICT_RENTALS_SCRIPT_NAME,
    SQL_MODEL_LAKE_PATH,
    WEATHER_FORECAST_SCRIPT_NAME,
)

DYN = "pulumi-python:dynamic/synapse-ml-lab:"
T = "azure-native:"
STUDENT_OID = "0a1b2c3d-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def sim():
    from tests.conftest import BASE_CONFIG

    return run_program(
        {
            **BASE_CONFIG,
            "lab:deployerIpAddress": "192.0.2.10",
            "lab:allowedIpRanges": ["198.51.100.0-198.51.100.255"],
            "lab:students": [{"id": "alice", "objectId": STUDENT_OID}, {"id": "bob"}],
        }
    )


def of(sim, student):
    env = sim.one("synapse-ml-lab:lab:LabEnvironment", student)
    return sim.descendants_of(env)


def one(resources, typ, contains=""):
    found = [r for r in resources if r.type == typ and contains in r.name]
    assert len(found) == 1, (typ, [r.name for r in found])
    return found[0]


def test_linked_service_points_at_the_students_aml_workspace_after_the_role(sim):
    res = of(sim, "alice")
    ls = one(res, f"{DYN}AzureMLLinkedService")
    aml = one(res, f"{T}machinelearningservices:Workspace")
    synapse = one(res, f"{T}synapse:Workspace")
    rg = one(res, f"{T}resources:ResourceGroup")
    role = one(res, f"{T}authorization:RoleAssignment", "synapse-ml-linked-service")
    assert ls.inputs["workspace_name"] == synapse.inputs["workspaceName"]
    assert ls.inputs["ml_workspace_name"] == aml.inputs["workspaceName"]
    assert ls.inputs["resource_group_name"] == rg.inputs["resourceGroupName"]
    assert ls.inputs["subscription_id"] == "00000000-0000-0000-0000-0000000000aa"
    assert ls.inputs["linked_service_name"] == "AzureML"
    assert role.urn in ls.dependencies
    # ... and behind every firewall rule, the deployer's included
    rules = [r for r in res if r.type == f"{T}synapse:IpFirewallRule"]
    assert {r.inputs["ruleName"] for r in rules} == {
        "AllowAllWindowsAzureIps",
        "allowed-1",
        "deployer",
    }
    assert all(r.urn in ls.dependencies for r in rules)


def test_notebooks_are_attached_to_the_spark_pool_with_student_parameters(sim):
    res = of(sim, "alice")
    art = one(res, f"{DYN}WorkspaceArtifacts")
    pool = one(res, f"{T}synapse:BigDataPool")
    lake = one(res, f"{T}storage:StorageAccount", "lake")
    aml = one(res, f"{T}machinelearningservices:Workspace")
    assert art.inputs["spark_pool_name"] == pool.inputs["bigDataPoolName"]
    assert pool.urn in art.dependencies  # notebooks after the Spark pool
    assert (
        sorted(art.inputs["notebooks"])
        == sorted(lab_notebooks())
        == ["01-prepare-data", "02-train-automl", "03-predict"]
    )
    for entry in art.inputs["notebooks"].values():
        assert (
            len(entry["sha256"]) == 64 and "cells" not in entry
        )  # a hash in the state, not the text
    params = art.inputs["parameters"]
    assert params["data_lake_account"] == lake.inputs["accountName"]
    assert params["aml_workspace"] == aml.inputs["workspaceName"]
    assert params["compute_name"] == "automl-cluster"
    assert params["aml_datastore"] == "datalake"
    assert params["sql_pool"] == one(res, f"{T}synapse:SqlPool").inputs["sqlPoolName"]


def test_sql_script_and_pause_follow_the_sql_pool(sim):
    res = of(sim, "alice")
    art = one(res, f"{DYN}WorkspaceArtifacts")
    pool = one(res, f"{T}synapse:SqlPool")
    script = art.inputs["sql_scripts"][WEATHER_FORECAST_SCRIPT_NAME]
    assert script["sql_pool_name"] == pool.inputs["sqlPoolName"]
    assert script["values"] == {
        "data_lake_account_name": one(res, f"{T}storage:StorageAccount", "lake").inputs[
            "accountName"
        ],
        "data_lake_filesystem": "files",
    }
    # Part 2 in the pool, after the weather forecast (it scores that table).
    assert sorted(art.inputs["sql_scripts"]) == [
        WEATHER_FORECAST_SCRIPT_NAME,
        PREDICT_RENTALS_SCRIPT_NAME,
    ]
    predict = art.inputs["sql_scripts"][PREDICT_RENTALS_SCRIPT_NAME]
    assert predict["after"] == WEATHER_FORECAST_SCRIPT_NAME and "after" not in script
    assert predict["template"] == "predict_rentals.sql"
    assert predict["sql_pool_name"] == pool.inputs["sqlPoolName"]
    assert predict["values"] == {
        **script["values"],
        "sql_pool_name": pool.inputs["sqlPoolName"],
        "model_path": SQL_MODEL_LAKE_PATH,
    }
    assert len(predict["sha256"]) == 64
    pause = one(res, f"{DYN}SqlPoolPause")
    assert pause.inputs["sql_pool_id"] == pool.outputs["id"]
    assert pool.urn in pause.dependencies


def test_student_is_synapse_administrator_of_their_workspace_only(sim):
    res = of(sim, "alice")
    rbac = one(res, f"{DYN}SynapseRoleAssignments")
    assert (
        rbac.inputs["workspace_name"] == one(res, f"{T}synapse:Workspace").inputs["workspaceName"]
    )
    # Synapse Administrator (its id as Synapse lists it), the one Synapse role with access
    # to the dedicated SQL pool; its residual powers are in lab/permissions.yaml.
    assert rbac.inputs["assignments"] == [
        {
            "roleId": "6e4bf58a-b8e1-4cc3-bbf9-d73143322b78",
            "principalId": STUDENT_OID,
            "principalType": "User",
        }
    ]
    # The resource of stacks deployed before issue 26 (same name): an update, no replace.
    assert rbac.name == "alice-studio-student-synapse-admin"
    assert [r for r in of(sim, "bob") if r.type == f"{DYN}SynapseRoleAssignments"] == []


def test_without_sql_pool_there_is_no_script_and_no_pause(base_config):
    sim = run_program({**base_config, "lab:dedicatedSqlPool": False})
    art = sim.one(f"{DYN}WorkspaceArtifacts")
    assert not art.inputs.get("sql_scripts")
    assert art.inputs["parameters"]["sql_pool"] == ""
    assert sim.of_type(f"{DYN}SqlPoolPause") == []


def test_few_dynamic_resources_per_student(sim):
    # 5 for the data plane (4 without a student objectId; the pause schedule is one of
    # them), 3 for a teardown that leaves nothing; the studio also holds the role that
    # lets the pause schedule pause the pool.
    for student, expected in (("alice", 8), ("bob", 7)):
        dynamic = [r for r in of(sim, student) if r.type.startswith("pulumi-python:dynamic")]
        assert len(dynamic) == expected
        studio = sim.one("synapse-ml-lab:synapse:DataPlane", f"{student}-studio")
        assert len(sim.children_of(studio)) == expected - 3 + 1


def test_every_data_plane_resource_knows_its_workspace_in_arm(sim):
    """A refresh that cannot reach the workspace's endpoint asks ARM about this id (a deleted
    workspace: all of them gone, `up` recreates them); the pause schedule takes it from its pool."""
    for student in ("alice", "bob"):
        res = of(sim, student)
        workspace = one(res, f"{T}synapse:Workspace")
        kinds = ["AzureMLLinkedService", "WorkspaceArtifacts"]
        kinds += ["SynapseRoleAssignments"] if student == "alice" else []
        for kind in kinds:
            resource = one(res, f"{DYN}{kind}")
            assert resource.inputs["workspace_id"] == workspace.outputs["id"], kind
        schedule = one(res, f"{DYN}PauseSchedule")
        assert schedule.inputs["sql_pool_id"].startswith(workspace.outputs["id"] + "/sqlPools/")
