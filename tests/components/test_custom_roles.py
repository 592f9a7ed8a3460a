"""The custom "SQL pool operator" role: declared once per subscription, with exactly its actions."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from lab import roles

T = "azure-native:authorization:RoleDefinition"
SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"


def oid(i):
    return f"0a1b2c3d-0000-4000-8000-{i:012d}"


@pytest.fixture(scope="module")
def one_subscription():
    from tests.conftest import BASE_CONFIG

    students = [{"id": "ann", "objectId": oid(1)}, {"id": "ben"}, {"id": "cat"}]
    return run_program({**BASE_CONFIG, "lab:students": students})


@pytest.fixture(scope="module")
def two_subscriptions():
    from tests.conftest import BASE_CONFIG

    students = [{"id": f"s{i}", "objectId": oid(i)} for i in range(4)]
    subscriptions = [{"id": SUB_A, "capacity": 2}, {"id": SUB_B, "capacity": 2}]
    return run_program(
        {**BASE_CONFIG, "lab:students": students, "lab:subscriptions": subscriptions},
        stack="spring-s2",
    )


def check_definition(definition, subscription, stack):
    inputs = definition.inputs
    assert inputs["scope"] == f"/subscriptions/{subscription}"
    assert inputs["assignableScopes"] == [f"/subscriptions/{subscription}"]
    assert inputs["roleType"] == "CustomRole"
    assert inputs["roleDefinitionId"] == roles.custom_role_guid(
        roles.SQL_POOL_OPERATOR, stack, subscription
    )
    assert inputs["roleName"] == f"synapse-ml-lab SQL pool operator ({stack}, {subscription})"
    assert inputs["permissions"] == [
        {
            "actions": [
                "Microsoft.Synapse/workspaces/sqlPools/read",
                "Microsoft.Synapse/workspaces/sqlPools/pause/action",
                "Microsoft.Synapse/workspaces/sqlPools/resume/action",
                "Microsoft.Synapse/workspaces/sqlPools/operationResults/read",
                "Microsoft.Synapse/workspaces/sqlPools/operationStatuses/read",
            ],
            "notActions": [],
            "dataActions": [],
            "notDataActions": [],
        }
    ]


def test_one_definition_for_the_default_subscription(one_subscription):
    definitions = one_subscription.of_type(T)
    assert [d.name for d in definitions] == ["sql-pool-operator-default"]
    check_definition(definitions[0], FAKE_SUBSCRIPTION, "dev")
    # Top level of the stack: not a child of one student (removing that student
    # must not remove the role the others hold).
    assert definitions[0].parent.endswith("pulumi:pulumi:Stack::synapse-ml-lab-dev")
    assert definitions[0].outputs["id"] == (
        f"/subscriptions/{FAKE_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
        + roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "dev", FAKE_SUBSCRIPTION)
    )


def test_one_definition_per_subscription_through_its_provider(two_subscriptions):
    sim = two_subscriptions
    definitions = {d.name: d for d in sim.of_type(T)}
    assert sorted(definitions) == [f"sql-pool-operator-{SUB_A}", f"sql-pool-operator-{SUB_B}"]
    provider_sub = {
        p.urn: p.inputs["subscriptionId"] for p in sim.of_type("pulumi:providers:azure-native")
    }
    for sub in (SUB_A, SUB_B):
        definition = definitions[f"sql-pool-operator-{sub}"]
        check_definition(definition, sub, "spring-s2")
        assert provider_sub[definition.provider.rsplit("::", 1)[0]] == sub
    # Display names must be unique in the tenant, which both subscriptions may share.
    assert len({d.inputs["roleName"] for d in definitions.values()}) == 2


def test_definitions_differ_per_stack_and_subscription():
    role = roles.SQL_POOL_OPERATOR
    ids = {
        roles.custom_role_guid(role, stack, sub)
        for stack in ("spring", "spring-s2")
        for sub in (SUB_A, SUB_B)
    }
    assert len(ids) == 4
    # Stable: the same stack and subscription always name the same definition.
    assert roles.custom_role_guid(role, "spring", SUB_A) == roles.custom_role_guid(
        role, "spring", SUB_A.upper()
    )
    assert len(roles.custom_role_name(role, "a" * 200, SUB_A)) <= 512


def test_the_custom_role_has_no_wildcard_and_no_write():
    for role in roles.CUSTOM_ROLES:
        for action in role.actions + role.data_actions:
            assert "*" not in action
            assert not action.endswith(("/write", "/delete")), action
