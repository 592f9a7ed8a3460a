"""Teardown that leaves nothing: the purge resources are declared and ordered around what they purge.

On destroy the engine deletes a resource before everything it depends on. So:
- whatever lives in or uses the Azure ML workspace depends on the workspace purge,
  which depends on the workspace: they go, then the purge deletes the workspace
  permanently, then azure-native finds it gone;
- Application Insights depends on the Log Analytics force delete, which depends
  on the Log Analytics workspace: same order;
- the Key Vault depends on its purge: the vault is deleted (soft), then purged.
"""

from __future__ import annotations

import pytest

from classroom.planning.simulate import run_program

DYN = "pulumi-python:dynamic/synapse-ml-lab:"
T = "azure-native:"


@pytest.fixture(scope="module")
def sim():
    from tests.conftest import BASE_CONFIG

    return run_program({**BASE_CONFIG, "lab:students": [{"id": "ann"}, {"id": "bo"}]})


def of(sim, student):
    return sim.descendants_of(sim.one("synapse-ml-lab:lab:LabEnvironment", student))


def one(resources, typ, contains=""):
    found = [r for r in resources if r.type == typ and contains in r.name]
    assert len(found) == 1, (typ, contains, [r.name for r in found])
    return found[0]


def all_deps(r):
    return set(r.dependencies) | {u for urns in r.property_dependencies.values() for u in urns}


@pytest.mark.parametrize("student", ["ann", "bo"])
def test_ml_workspace_is_purged_after_what_uses_it(sim, student):
    res = of(sim, student)
    workspace = one(res, f"{T}machinelearningservices:Workspace")
    purge = one(res, f"{DYN}MlWorkspacePurge")
    assert purge.inputs["workspace_id"] == workspace.outputs["id"]
    assert workspace.urn in all_deps(purge)
    users = [
        one(res, f"{T}machinelearningservices:Compute"),
        one(res, f"{T}machinelearningservices:Datastore"),
        one(res, f"{T}authorization:RoleAssignment", "synapse-ml-linked-service"),
        one(res, f"{DYN}AzureMLLinkedService"),
    ]
    for user in users:
        assert purge.urn in all_deps(user), user.name
    # the purge does not wait for anything that must outlive the workspace
    assert not any(u.urn in all_deps(purge) for u in users)


@pytest.mark.parametrize("student", ["ann", "bo"])
def test_log_analytics_is_force_deleted_after_app_insights(sim, student):
    res = of(sim, student)
    logs = one(res, f"{T}operationalinsights:Workspace")
    force = one(res, f"{DYN}LogAnalyticsForceDelete")
    insights = one(res, f"{T}applicationinsights:Component")
    assert force.inputs["workspace_id"] == logs.outputs["id"]
    assert logs.urn in all_deps(force)
    assert force.urn in all_deps(insights)


@pytest.mark.parametrize("student", ["ann", "bo"])
def test_key_vault_is_purged_after_it_is_deleted(sim, student):
    res = of(sim, student)
    vault = one(res, f"{T}keyvault:Vault")
    purge = one(res, f"{DYN}KeyVaultPurge")
    rg = one(res, f"{T}resources:ResourceGroup")
    assert purge.inputs["vault_name"] == vault.inputs["vaultName"]
    assert purge.inputs["location"] == "westeurope"
    assert purge.inputs["resource_group_name"] == rg.inputs["resourceGroupName"]
    assert purge.inputs["subscription_id"] == "00000000-0000-0000-0000-0000000000aa"
    assert purge.urn in all_deps(vault)
    assert vault.urn not in all_deps(
        purge
    )  # no cycle: the purge takes names, not the vault's outputs


def test_each_student_has_exactly_one_of_each_purge(sim):
    for kind in ("MlWorkspacePurge", "LogAnalyticsForceDelete", "KeyVaultPurge"):
        assert sorted(r.name.split("-")[0] for r in sim.of_type(f"{DYN}{kind}")) == ["ann", "bo"]


@pytest.mark.parametrize("student", ["ann", "bo"])
def test_diagnostic_settings_go_before_what_they_read_and_where_they_write(sim, student):
    # Azure: a setting left behind when its resource is deleted is applied again to a
    # new resource of the same id (platform/diagnostic-settings.md). Each setting depends
    # on its resource (deleted first) and on the Log Analytics force delete (deleted
    # before the workspace is purged), and nothing of the lab waits for a setting.
    res = of(sim, student)
    force = one(res, f"{DYN}LogAnalyticsForceDelete")
    settings = [r for r in res if r.type == f"{T}monitor:DiagnosticSetting"]
    assert len(settings) == 3
    for typ in ("synapse:Workspace", "synapse:BigDataPool", "synapse:SqlPool"):
        source = one(res, f"{T}{typ}")
        (setting,) = [s for s in settings if s.inputs["resourceUri"] == source.outputs["id"]]
        assert source.urn in all_deps(setting), typ
        assert force.urn in all_deps(setting), typ
    setting_urns = {s.urn for s in settings}
    assert [r.name for r in sim.resources if all_deps(r) & setting_urns] == []
