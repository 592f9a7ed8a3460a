"""components.roles.assign_role: the one way the program grants a role, and the rules it applies."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from components.roles import assign_role
from lab import roles


def test_assign_role_refuses_owner_and_subscription_scope():
    with pytest.raises(ValueError, match="never grants Owner"):
        assign_role(
            "x",
            role_id=roles.OWNER,
            principal_id="p",
            principal_type="User",
            scope="/x",
            subscription_id="s",
            description="",
            opts=None,
        )
    for scope in (
        f"/subscriptions/{FAKE_SUBSCRIPTION}",
        "/",
        "",
        "/providers/Microsoft.Management/managementGroups/school",
    ):
        with pytest.raises(ValueError, match="subscription scope"):
            roles.check_scope(scope)
    assert roles.check_scope(f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/rg").endswith(
        "/rg"
    )


def test_assign_role_refuses_contributor_for_people_but_not_for_an_identity():
    for principal_type in ("User", "Group"):
        with pytest.raises(ValueError, match="never grants Contributor to a user or group"):
            assign_role(
                "x",
                role_id=roles.CONTRIBUTOR,
                principal_id="p",
                principal_type=principal_type,
                scope="/x",
                subscription_id="s",
                description="",
                opts=None,
            )


def test_without_a_dedicated_sql_pool_a_student_gets_no_pool_role():
    from tests.conftest import BASE_CONFIG

    student = "0a1b2c3d-0000-4000-8000-000000000009"
    sim = run_program(
        {
            **BASE_CONFIG,
            "lab:dedicatedSqlPool": "false",
            "lab:students": [{"id": "zoe", "objectId": student}],
        }
    )
    granted = sorted(
        r.name
        for r in sim.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == student
    )
    assert granted == [
        "zoe-access-student-aml-data-scientist",
        "zoe-access-student-lake-contributor",
        "zoe-access-student-rg-reader",
    ]
