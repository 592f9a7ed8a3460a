"""A whole class: least-privilege student access, several subscriptions, expiry."""

from __future__ import annotations

import datetime as dt

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from lab import roles
from lab.config import ConfigError, parse
from lab.placement import Subscription, place

T = "azure-native:"
SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"
SUB_C = "cccccccc-0000-4000-8000-000000000003"


def roster(n, prefix="s"):
    return [f"{prefix}{i:03d}" for i in range(n)]


def oid(i):
    return f"0a1b2c3d-0000-4000-8000-{i:012d}"


# --- student access ---


@pytest.fixture(scope="module")
def class_of_three():
    from tests.conftest import BASE_CONFIG

    students = [
        {"id": "ann", "objectId": oid(1)},
        {"id": "ben", "objectId": oid(2), "principalType": "Group"},
        {"id": "cat", "objectId": oid(3)},
    ]
    return run_program({**BASE_CONFIG, "lab:students": students})


AML_STUDENT = roles.custom_role_guid(roles.AML_STUDENT, "dev", FAKE_SUBSCRIPTION)


def test_each_student_gets_roles_only_inside_their_own_resource_group(class_of_three):
    sim = class_of_three
    groups = {}
    for env in sim.of_type("synapse-ml-lab:lab:LabEnvironment"):
        rg = next(r for r in sim.descendants_of(env) if r.type == f"{T}resources:ResourceGroup")
        groups[env.name] = rg.outputs["id"]
    for i, student in enumerate(["ann", "ben", "cat"], start=1):
        granted = [
            r
            for r in sim.of_type(f"{T}authorization:RoleAssignment")
            if r.inputs["principalId"] == oid(i)
        ]
        assert sorted(r.inputs["roleDefinitionId"].rsplit("/", 1)[1] for r in granted) == sorted(
            [
                roles.READER,
                AML_STUDENT,
                roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
                roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "dev", FAKE_SUBSCRIPTION),
            ]
        )
        # Each role on the one resource it is for, in this student's group.
        by_role = {
            r.inputs["roleDefinitionId"].rsplit("/", 1)[1]: r.inputs["scope"] for r in granted
        }
        assert by_role[roles.READER] == groups[student]
        assert by_role[AML_STUDENT].startswith(
            groups[student] + "/providers/Microsoft.MachineLearningServices/workspaces/"
        )
        assert by_role[roles.STORAGE_BLOB_DATA_CONTRIBUTOR].startswith(
            groups[student] + "/providers/Microsoft.Storage/storageAccounts/datalake"
        )
        assert (
            "/sqlPools/"
            in by_role[roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "dev", FAKE_SUBSCRIPTION)]
        )
        for r in granted:
            assert r.inputs["scope"] == groups[student] or r.inputs["scope"].startswith(
                groups[student] + "/"
            )
            for other, rg_id in groups.items():
                if other != student:
                    assert not r.inputs["scope"].startswith(rg_id)
            assert r.inputs["principalType"] == ("Group" if student == "ben" else "User")


def test_nobody_is_owner_or_granted_at_subscription_scope(class_of_three):
    assignments = class_of_three.of_type(f"{T}authorization:RoleAssignment")
    # 8 per student (issue 23's roles and the deployer's), and the cost guard's role on
    # each student's own SQL pool
    assert len(assignments) == 3 * 10
    for r in assignments:
        assert not r.inputs["roleDefinitionId"].endswith(roles.OWNER)
        assert "/resourceGroups/" in r.inputs["scope"]


def test_no_person_group_or_identity_is_contributor_or_owner_anywhere(class_of_three):
    everyone = class_of_three.of_type(f"{T}authorization:RoleAssignment")
    people = [r for r in everyone if r.inputs["principalType"] in ("User", "Group")]
    students = [r for r in people if r.inputs["principalId"] in {oid(1), oid(2), oid(3)}]
    assert len(students) == 3 * 4
    assert len(everyone) - len(people) == 3 * 5  # the managed identities' roles
    for r in everyone:
        role = r.inputs["roleDefinitionId"].rsplit("/", 1)[1]
        assert role not in (roles.CONTRIBUTOR, roles.OWNER), r.name


def test_each_custom_role_is_declared_once_for_the_whole_class(class_of_three):
    every = class_of_three.of_type(f"{T}authorization:RoleDefinition")
    assert sorted(d.name for d in every) == sorted(f"{r.key}-default" for r in roles.CUSTOM_ROLES)
    definitions = [d for d in every if d.name == "sql-pool-operator-default"]
    operator = definitions[0].inputs["roleDefinitionId"]
    pools = [
        r
        for r in class_of_three.of_type(f"{T}authorization:RoleAssignment")
        if r.inputs["roleDefinitionId"].endswith(operator)
    ]
    # Each student on their own pool, and each workspace's identity (the cost guard's pause).
    students = [r for r in pools if r.inputs["principalType"] in ("User", "Group")]
    identities = [r for r in pools if r.inputs["principalType"] == "ServicePrincipal"]
    assert sorted(r.inputs["principalId"] for r in students) == [oid(1), oid(2), oid(3)]
    assert len(identities) == 3 and len(pools) == 6
    assert all("/sqlPools/" in r.inputs["scope"] for r in pools)
    assert all(definitions[0].urn in r.dependencies for r in pools)


# --- subscriptions (placement itself: tests/lab/test_placement.py) ---


def test_over_capacity_stops_preview_with_a_clear_message():
    students = [{"id": s} for s in roster(5)]
    with pytest.raises(ConfigError) as info:
        parse(
            {
                "expiresOn": "2026-12-20",
                "students": _json(students),
                "subscriptions": _json(
                    [{"id": SUB_A, "capacity": 2}, {"id": SUB_B, "capacity": 2}]
                ),
            },
            location="westeurope",
            stack_name="dev",
        )
    assert (
        "lab:subscriptions: 5 students do not fit in the total capacity of lab:subscriptions (4"
        in str(info.value)
    )


@pytest.mark.parametrize(
    "subscriptions, message",
    [
        (
            [{"id": "not-a-guid", "capacity": 2}],
            'lab:subscriptions[0].id = "not-a-guid" is not a subscription id',
        ),
        ([{"id": SUB_A, "capacity": 0}], "lab:subscriptions[0].capacity = 0 is not allowed"),
        ([{"id": SUB_A, "capacity": 2}, {"id": SUB_A, "capacity": 3}], "is a duplicate"),
        ([{"id": SUB_A}], "capacity = null is not allowed"),
    ],
)
def test_bad_subscriptions(subscriptions, message):
    with pytest.raises(ConfigError) as info:
        parse(
            {"expiresOn": "2026-12-20", "subscriptions": _json(subscriptions)},
            location="westeurope",
            stack_name="dev",
        )
    assert message in str(info.value)


def _json(value):
    import json

    return json.dumps(value)


@pytest.fixture(scope="module")
def spread_class():
    from tests.conftest import BASE_CONFIG

    students = [{"id": s} for s in roster(6)] + [{"id": "pinned", "subscription": SUB_C}]
    subscriptions = [
        {"id": SUB_A, "capacity": 3},
        {"id": SUB_B, "capacity": 3},
        {"id": SUB_C, "capacity": 2},
    ]
    return run_program(
        {**BASE_CONFIG, "lab:students": students, "lab:subscriptions": subscriptions}
    )


def test_explicit_providers_carry_their_subscription(spread_class):
    providers = spread_class.of_type("pulumi:providers:azure-native")
    assert sorted(p.inputs["subscriptionId"] for p in providers) == sorted([SUB_A, SUB_B, SUB_C])
    for p in providers:
        assert p.inputs["location"] == "westeurope"


def test_each_students_resources_go_through_their_subscriptions_provider(spread_class):
    sim = spread_class
    provider_sub = {
        p.urn: p.inputs["subscriptionId"] for p in sim.of_type("pulumi:providers:azure-native")
    }
    envs = sim.exports["environments"].value
    expected_placement = place(
        roster(6) + ["pinned"],
        [Subscription(SUB_A, 3), Subscription(SUB_B, 3), Subscription(SUB_C, 2)],
        {"pinned": SUB_C},
    )
    assert {sid: e["subscription"] for sid, e in envs.items()} == expected_placement
    assert envs["pinned"]["subscription"] == SUB_C
    for env in sim.of_type("synapse-ml-lab:lab:LabEnvironment"):
        expected = envs[env.name]["subscription"]
        azure = [r for r in sim.descendants_of(env) if r.type.startswith(T)]
        assert azure
        for r in azure:
            # a provider reference is "<provider urn>::<provider id>"
            assert provider_sub[r.provider.rsplit("::", 1)[0]] == expected, r.name
        for ra in (r for r in azure if r.type == f"{T}authorization:RoleAssignment"):
            assert ra.inputs["roleDefinitionId"].startswith(f"/subscriptions/{expected}/")


def test_without_subscriptions_the_default_provider_is_used(class_of_three):
    assert class_of_three.of_type("pulumi:providers:azure-native") == []
    assert {e["subscription"] for e in class_of_three.exports["environments"].value.values()} == {
        "00000000-0000-0000-0000-0000000000aa"
    }


# --- expiry ---


def test_expired_class_is_reported_naming_the_students():
    settings = parse(
        {"expiresOn": "2026-11-01", "students": _json([{"id": "ann"}, {"id": "ben"}])},
        location="westeurope",
        stack_name="dev",
    )
    warnings = settings.warnings(today=dt.date(2026, 11, 28))
    expired = [w for w in warnings if "has passed" in w]
    assert expired == [
        "lab:expiresOn (2026-11-01) has passed: the environments of 2 students are expired: ann, ben. "
        "Run `pulumi destroy` to stop their costs, or move lab:expiresOn if the class goes on."
    ]
    assert not any("has passed" in w for w in settings.warnings(today=dt.date(2026, 11, 1)))


def test_expiry_warning_reaches_preview(base_config):
    sim = run_program(
        {**base_config, "lab:expiresOn": "2020-01-31", "lab:students": [{"id": "zoe"}]},
        preview=True,
    )
    assert any("lab:expiresOn (2020-01-31) has passed" in w and "zoe" in w for w in sim.warnings)
