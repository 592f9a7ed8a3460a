"""The custom roles: declared once per subscription, inside its SubscriptionSetup, with exactly their actions."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from lab import roles

T = "azure-native:authorization:RoleDefinition"
SETUP = "synapse-ml-lab:subscription:SubscriptionSetup"
STACK = "urn:pulumi:dev::synapse-ml-lab::"
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


def check_definition(definition, subscription, stack, role=roles.SQL_POOL_OPERATOR):
    inputs = definition.inputs
    assert inputs["scope"] == f"/subscriptions/{subscription}"
    assert inputs["assignableScopes"] == [f"/subscriptions/{subscription}"]
    assert inputs["roleType"] == "CustomRole"
    assert inputs["roleDefinitionId"] == roles.custom_role_guid(role, stack, subscription)
    assert inputs["roleName"] == f"{role.role_name} ({stack}, {subscription})"
    assert inputs["permissions"] == [
        {
            "actions": list(role.actions),
            "notActions": [],
            "dataActions": [],
            "notDataActions": [],
        }
    ]


def test_the_sql_pool_operator_keeps_its_actions():
    assert roles.SQL_POOL_OPERATOR.actions == (
        "Microsoft.Synapse/workspaces/sqlPools/read",
        "Microsoft.Synapse/workspaces/sqlPools/pause/action",
        "Microsoft.Synapse/workspaces/sqlPools/resume/action",
        "Microsoft.Synapse/workspaces/sqlPools/operationResults/read",
        "Microsoft.Synapse/workspaces/sqlPools/operationStatuses/read",
    )


def test_one_definition_of_each_role_for_the_default_subscription(one_subscription):
    definitions = {d.name: d for d in one_subscription.of_type(T)}
    assert sorted(definitions) == [
        "aml-for-synapse-default",
        "aml-student-default",
        "sql-pool-operator-default",
    ]
    (setup,) = one_subscription.of_type(SETUP)
    for role in roles.CUSTOM_ROLES:
        definition = definitions[f"{role.key}-default"]
        check_definition(definition, FAKE_SUBSCRIPTION, "dev", role)
        # Inside the subscription's component, not a child of one student
        # (removing that student must not remove the role the others hold).
        assert definition.parent == setup.urn
        assert definition.outputs["id"] == (
            f"/subscriptions/{FAKE_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/"
            + roles.custom_role_guid(role, "dev", FAKE_SUBSCRIPTION)
        )


def test_the_moved_sql_pool_operator_keeps_its_old_urn_through_its_alias(one_subscription):
    """Moved under the SubscriptionSetup, the definition names its URN from when it hung
    off the stack (tests/components/test_type_tokens.py lists that URN as issue 23
    declared it): the engine adopts it instead of deleting and re-creating it."""
    definitions = {d.name: d for d in one_subscription.of_type(T)}
    moved = definitions["sql-pool-operator-default"]
    old = f"{STACK}pulumi:pulumi:Stack${T}::sql-pool-operator-default"
    assert moved.urn == f"{STACK}{SETUP}${T}::sql-pool-operator-default"
    assert old in moved.aliases
    # (The others are azure-native's own aliases of the type's older API versions.)
    assert [a for a in moved.aliases if f"${T}::" in a] == [old]
    # The roles that are new have nothing to be adopted from.
    for name in ("aml-student-default", "aml-for-synapse-default"):
        assert not [a for a in definitions[name].aliases if "pulumi:pulumi:Stack" in a]


def test_one_definition_per_subscription_through_its_provider(two_subscriptions):
    sim = two_subscriptions
    definitions = {d.name: d for d in sim.of_type(T)}
    assert sorted(definitions) == sorted(
        f"{role.key}-{sub}" for role in roles.CUSTOM_ROLES for sub in (SUB_A, SUB_B)
    )
    provider_sub = {
        p.urn: p.inputs["subscriptionId"] for p in sim.of_type("pulumi:providers:azure-native")
    }
    setups = {s.urn: s.name for s in sim.of_type(SETUP)}
    for sub in (SUB_A, SUB_B):
        for role in roles.CUSTOM_ROLES:
            definition = definitions[f"{role.key}-{sub}"]
            check_definition(definition, sub, "spring-s2", role)
            assert provider_sub[definition.provider.rsplit("::", 1)[0]] == sub
            assert setups[definition.parent] == f"subscription-{sub}"
    # Display names must be unique in the tenant, which both subscriptions may share.
    assert len({d.inputs["roleName"] for d in definitions.values()}) == 6


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


def test_the_custom_roles_use_only_the_documented_wildcards():
    # The SQL pool operator: no wildcard and no write at all.
    for action in roles.SQL_POOL_OPERATOR.actions:
        assert "*" not in action
        assert not action.endswith(("/write", "/delete")), action
    # The Azure ML roles: the wildcards of Microsoft's how-to-assign-roles page only
    # (what each then matches is the permission proof's to say).
    documented = {
        "Microsoft.MachineLearningServices/workspaces/*/read",
        "Microsoft.MachineLearningServices/workspaces/jobs/*",
        "Microsoft.MachineLearningServices/workspaces/metadata/codes/*/write",
        "Microsoft.MachineLearningServices/workspaces/models/*/write",
    }
    for role in (roles.AML_STUDENT, roles.AML_FOR_SYNAPSE):
        assert {a for a in role.actions if "*" in a} <= documented, role.key
        assert not role.data_actions and not role.not_actions


def test_each_student_holds_the_role_of_their_own_subscription_on_their_own_pool(
    two_subscriptions,
):
    sim = two_subscriptions
    envs = sim.exports["environments"].value
    for i in range(4):
        student = f"s{i}"
        sub = envs[student]["subscription"]
        (assignment,) = [
            r
            for r in sim.of_type("azure-native:authorization:RoleAssignment")
            if r.inputs["principalId"] == oid(i) and "/sqlPools/" in r.inputs["scope"]
        ]
        guid = roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "spring-s2", sub)
        assert assignment.inputs["roleDefinitionId"] == (
            f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        )
        assert assignment.inputs["scope"].endswith(f"/sqlPools/{envs[student]['sqlPool']}")
