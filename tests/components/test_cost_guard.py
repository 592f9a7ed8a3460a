"""The cost guard as the program declares it: the schedule, the role on the pool, the budget."""

from __future__ import annotations

import datetime as dt

import pytest

from classroom.planning.simulate import run_program
from lab import cost_guard
from lab.roles import SQL_POOL_OPERATOR, custom_role_guid

DYN = "pulumi-python:dynamic/synapse-ml-lab:"
T = "azure-native:"
BUDGET = {
    "amountPerStudent": 45,
    "contactEmails": ["teacher@example.org", "ta@example.org"],
    "thresholds": [50, 80, 100],
}
SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"


@pytest.fixture(scope="module")
def sim():
    from tests.conftest import BASE_CONFIG

    return run_program(
        {
            **BASE_CONFIG,
            "lab:students": [{"id": "ann"}],
            "lab:pauseSqlPoolAt": ["22:30", "23:30"],
            "lab:timeZone": "Europe/Paris",
            "lab:budget": BUDGET,
        }
    )


def test_the_schedule_pauses_the_students_own_pool_at_the_configured_times(sim):
    schedule = sim.one(f"{DYN}PauseSchedule")
    pool = sim.one(f"{T}synapse:SqlPool")
    workspace = sim.one(f"{T}synapse:Workspace")
    assert schedule.inputs["sql_pool_id"] == pool.outputs["id"]
    assert schedule.inputs["workspace_name"] == workspace.inputs["workspaceName"]
    assert schedule.inputs["times"] == ["22:30", "23:30"]
    assert schedule.inputs["time_zone"] == "Europe/Paris"
    # Behind the firewall rules, and only once the identity may pause the pool.
    role = sim.one(f"{T}authorization:RoleAssignment", "synapse-pauses-sql")
    assert role.urn in schedule.dependencies
    for rule in sim.of_type(f"{T}synapse:IpFirewallRule"):
        assert rule.urn in schedule.dependencies


def test_the_workspace_identity_gets_the_operator_role_on_its_pool_only(sim):
    role = sim.one(f"{T}authorization:RoleAssignment", "synapse-pauses-sql")
    pool = sim.one(f"{T}synapse:SqlPool")
    workspace = sim.one(f"{T}synapse:Workspace")
    definition = sim.one(f"{T}authorization:RoleDefinition", "sql-pool-operator")
    assert role.inputs["scope"] == pool.outputs["id"]
    assert "/sqlPools/" in role.inputs["scope"]
    assert role.inputs["principalId"] == workspace.outputs["identity"]["principalId"]
    assert role.inputs["principalType"] == "ServicePrincipal"
    # The subscription's custom role of issue 23 (components/custom_roles.py), by its id.
    sub = definition.inputs["scope"].split("/")[-1]
    guid = custom_role_guid(SQL_POOL_OPERATOR, "dev", sub)
    assert definition.inputs["roleDefinitionId"] == guid
    assert role.inputs["roleDefinitionId"] == (
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    )
    actions = definition.inputs["permissions"][0]["actions"]
    assert "Microsoft.Synapse/workspaces/sqlPools/pause/action" in actions
    assert not any(a.endswith("/write") or "*" in a for a in actions)


def test_the_budget_covers_the_class_period_with_the_configured_alerts(sim):
    budget = sim.one(f"{T}consumption:Budget")
    group = sim.one(f"{T}resources:ResourceGroup")
    today = dt.date.today()
    assert budget.inputs["scope"] == group.outputs["id"]
    assert budget.inputs["amount"] == 45
    assert budget.inputs["category"] == "Cost"
    assert budget.inputs["timeGrain"] == "Annually"
    assert budget.inputs["timePeriod"] == {
        "startDate": f"{today.year:04d}-{today.month:02d}-01T00:00:00Z",
        "endDate": "2026-12-20T23:59:59Z",
    }
    notes = budget.inputs["notifications"]
    assert sorted(notes) == ["actual-100", "actual-50", "actual-80", "forecast-100"]
    assert notes["actual-80"] == {
        "enabled": True,
        "operator": "GreaterThanOrEqualTo",
        "threshold": 80,
        "thresholdType": "Actual",
        "contactEmails": ["teacher@example.org", "ta@example.org"],
    }
    assert notes["forecast-100"]["thresholdType"] == "Forecasted"


def test_the_budget_body_passes_the_sdk_models_validation(sim):
    from azure.mgmt.consumption import models

    inputs = sim.one(f"{T}consumption:Budget").inputs
    body = {
        "properties": {
            "category": inputs["category"],
            "amount": inputs["amount"],
            "timeGrain": inputs["timeGrain"],
            "timePeriod": inputs["timePeriod"],
            "notifications": inputs["notifications"],
        }
    }
    model = models.Budget.deserialize(body)
    assert model.validate() == []
    assert set(model.notifications) == set(inputs["notifications"])
    assert model.notifications["actual-50"].contact_emails == BUDGET["contactEmails"]
    # The SDK's own check catches what Azure refuses: no contacts at all.
    broken = models.Budget.deserialize(body)
    broken.notifications["actual-50"].contact_emails = None
    assert broken.validate() != []


def test_an_empty_schedule_or_no_sql_pool_declares_no_guard(base_config):
    for extra in ({"lab:pauseSqlPoolAt": []}, {"lab:dedicatedSqlPool": False}):
        sim = run_program({**base_config, **extra})
        assert sim.of_type(f"{DYN}PauseSchedule") == []
        assert [
            r for r in sim.of_type(f"{T}authorization:RoleAssignment") if "pauses-sql" in r.name
        ] == []
        assert sim.of_type(f"{T}consumption:Budget") == []


def test_one_operator_role_per_subscription(base_config):
    sim = run_program(
        {
            **base_config,
            "lab:subscriptions": [{"id": SUB_A, "capacity": 5}, {"id": SUB_B, "capacity": 5}],
            "lab:students": [
                {"id": "ann", "subscription": SUB_A},
                {"id": "ben", "subscription": SUB_A},
                {"id": "cleo", "subscription": SUB_B},
            ],
        }
    )
    definitions = [
        d for d in sim.of_type(f"{T}authorization:RoleDefinition") if "sql-pool-operator" in d.name
    ]
    assert sorted(d.inputs["scope"] for d in definitions) == [
        f"/subscriptions/{SUB_A}",
        f"/subscriptions/{SUB_B}",
    ]
    by_id = {d.outputs["id"]: d for d in definitions}
    for student, sub in (("ann", SUB_A), ("ben", SUB_A), ("cleo", SUB_B)):
        role = sim.one(f"{T}authorization:RoleAssignment", f"{student}-studio-synapse-pauses-sql")
        assert by_id[role.inputs["roleDefinitionId"]].inputs["scope"] == f"/subscriptions/{sub}"
    assert cost_guard.PAUSE_PIPELINE_NAME == "Pause SQL pool"
