"""The lab-progress diagnostic settings under mocks: what each sends, from where, to where.

The program must send the categories of lab.diagnostics from each Synapse resource of a
student into that student's own Log Analytics workspace, one table per category, and
only from a SQL pool that exists.
"""

from __future__ import annotations

import pytest

from classroom.planning.simulate import run_program
from lab import diagnostics
from tests.components.test_teardown_wiring import of, one

T = "azure-native:"
SETTING = f"{T}monitor:DiagnosticSetting"
COMPONENT = "synapse-ml-lab:monitor:LabDiagnostics"


@pytest.fixture(scope="module")
def sim():
    from tests.conftest import BASE_CONFIG

    return run_program({**BASE_CONFIG, "lab:students": [{"id": "ann"}, {"id": "bo"}]})


def categories(setting):
    return [log["category"] for log in setting.inputs["logs"] if log["enabled"]]


@pytest.mark.parametrize("student", ["ann", "bo"])
def test_each_synapse_resource_sends_its_categories_to_the_students_own_workspace(sim, student):
    res = of(sim, student)
    logs = one(res, f"{T}operationalinsights:Workspace")
    expected = {
        f"{T}synapse:Workspace": [
            "IntegrationPipelineRuns",
            "IntegrationActivityRuns",
            "IntegrationTriggerRuns",
            "BuiltinSqlReqsEnded",
        ],
        f"{T}synapse:BigDataPool": ["BigDataPoolAppsEnded"],
        f"{T}synapse:SqlPool": ["ExecRequests"],
    }
    settings = [r for r in res if r.type == SETTING]
    assert len(settings) == 3
    for typ, wanted in expected.items():
        source = one(res, typ)
        (setting,) = [s for s in settings if s.inputs["resourceUri"] == source.outputs["id"]]
        assert categories(setting) == wanted, typ
        assert setting.inputs["name"] == "lab-progress"
        assert setting.inputs["workspaceId"] == logs.outputs["id"]
        # Resource-specific tables (SynapseIntegrationPipelineRuns, ...), not AzureDiagnostics.
        assert setting.inputs["logAnalyticsDestinationType"] == "Dedicated"
        # No group besides the categories (Azure refuses both), no metrics, no other sink.
        assert all("categoryGroup" not in log for log in setting.inputs["logs"])
        for unwanted in ("metrics", "storageAccountId", "eventHubName"):
            assert unwanted not in setting.inputs, unwanted
        # The id Azure gives it: an extension of the resource it reads.
        assert setting.outputs["id"] == (
            f"{source.outputs['id']}/providers/Microsoft.Insights/diagnosticSettings/lab-progress"
        )


def test_no_student_sends_logs_to_another_students_workspace(sim):
    for student, other in (("ann", "bo"), ("bo", "ann")):
        theirs = one(of(sim, other), f"{T}operationalinsights:Workspace").outputs["id"]
        for setting in (r for r in of(sim, student) if r.type == SETTING):
            assert setting.inputs["workspaceId"] != theirs


def test_the_settings_live_in_their_own_component(sim):
    for student in ("ann", "bo"):
        component = sim.one(COMPONENT, f"{student}-diag")
        assert component.parent == sim.one("synapse-ml-lab:lab:LabEnvironment", student).urn
        children = sim.children_of(component)
        assert sorted(r.name for r in children) == [
            f"{student}-diag-spark",
            f"{student}-diag-sql",
            f"{student}-diag-workspace",
        ]
        assert {r.type for r in children} == {SETTING}


def test_without_a_sql_pool_no_sql_pool_setting(base_config):
    sim = run_program({**base_config, "lab:dedicatedSqlPool": "false"})
    settings = sim.of_type(SETTING)
    assert sorted(r.name.rsplit("-", 1)[-1] for r in settings) == ["spark", "workspace"]
    assert not any("ExecRequests" in categories(s) for s in settings)


def test_every_category_the_program_sends_has_a_table_for_the_progress_check(sim):
    sent = {c for s in sim.of_type(SETTING) for c in categories(s)}
    assert sent == set(diagnostics.TABLES)
    assert diagnostics.TABLES["IntegrationPipelineRuns"] == diagnostics.PIPELINE_RUNS_TABLE
    assert diagnostics.PIPELINE_RUNS_TABLE == "SynapseIntegrationPipelineRuns"
    assert diagnostics.SPARK_APPS_ENDED_TABLE == "SynapseBigDataPoolApplicationsEnded"
    assert diagnostics.SQL_POOL_EXEC_REQUESTS_TABLE == "SynapseSqlPoolExecRequests"
    # Every table of a Dedicated setting is the service's name with the Synapse prefix.
    assert all(t.startswith("Synapse") for t in diagnostics.TABLES.values())
    assert [s.key for s in diagnostics.sources(False)] == ["workspace", "spark"]


def test_the_environment_says_which_workspace_holds_the_logs(sim):
    envs = sim.exports["environments"].value
    for student in ("ann", "bo"):
        logs = one(of(sim, student), f"{T}operationalinsights:Workspace")
        assert envs[student]["logAnalyticsWorkspaceId"] == logs.outputs["customerId"]
    assert envs["ann"]["logAnalyticsWorkspaceId"] != envs["bo"]["logAnalyticsWorkspaceId"]
