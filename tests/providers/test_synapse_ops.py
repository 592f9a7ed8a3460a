"""SQL pool pause (ARM action) and Synapse RBAC role assignments against the fake service."""

from __future__ import annotations

import threading
import uuid

import pytest

from lab.roles import SYNAPSE_ADMINISTRATOR, SYNAPSE_CONTRIBUTOR
from providers.client import DataPlaneError
from providers.synapse.rbac import SynapseRoleAssignmentsProvider, role_assignment_id
from providers.synapse.sql_pool import SqlPoolPauseProvider
from tests.fakes import synapse as fs
from tests.fakes.synapse import FAST, to_wire

WORKSPACE = "synapsetest01"
POOL = "/subscriptions/0000/resourceGroups/dp000-abc1234/providers/Microsoft.Synapse/workspaces/synapsetest01/sqlPools/sqlabc1234"
ARM_SCOPE = ("https://management.azure.com/.default",)
STUDENT = "aaaaaaaa-0000-0000-0000-000000000001"
TEACHER = "bbbbbbbb-0000-0000-0000-000000000002"


def pause_inputs(server):
    return {"sql_pool_id": POOL, "arm_endpoint": server.url}


# ----------------------------------------------------------------------------- SQL pool pause


@pytest.mark.parametrize("arm_lro", ["async", "location"])
def test_pause_is_sent_once_on_create_and_polled_to_completion(fake, credential, arm_lro):
    fake.arm_lro = arm_lro
    fake.lro_polls = 2
    fake.add_sql_pool(POOL, "Online")

    result = SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))

    posts = fake.calls("POST")
    assert [(p.path, p.query) for p in posts] == [(f"{POOL}/pause", {"api-version": "2021-06-01"})]
    polls = fake.calls("GET", "^/arm")
    assert len(polls) == 3  # two "still running" answers, then done
    assert fake.pool_status(POOL) == "Paused"
    assert {r.authorization for r in fake.requests} == {f"Bearer {fs.ARM_TOKEN}"}
    assert set(credential.scopes) == {ARM_SCOPE}
    assert result.outs == {**pause_inputs(fake), "pause_result": "paused"}


def test_pause_never_runs_again_on_update_and_delete_does_nothing(fake):
    fake.add_sql_pool(POOL, "Online")
    provider = SqlPoolPauseProvider(FAST)
    created = provider.create(to_wire(pause_inputs(fake)))
    fake.add_sql_pool(POOL, "Online")  # the student resumed it
    fake.reset_log()

    same = provider.diff(created.id, to_wire(created.outs), to_wire(pause_inputs(fake)))
    moved = provider.diff(
        created.id, to_wire(created.outs), to_wire({**pause_inputs(fake), "arm_endpoint": None})
    )
    updated = provider.update(
        created.id, to_wire(created.outs), to_wire({**pause_inputs(fake), "arm_endpoint": None})
    )
    provider.delete(created.id, to_wire(created.outs))

    assert same.changes is False and same.replaces is None
    assert moved.changes is True and moved.replaces is None and moved.diffs == ["arm_endpoint"]
    assert updated.outs == {"sql_pool_id": POOL, "pause_result": "paused"}
    assert fake.requests == []
    assert fake.pool_status(POOL) == "Online"


def test_another_pool_is_another_pause(fake):
    provider = SqlPoolPauseProvider(FAST)
    diff = provider.diff(
        "id",
        to_wire({**pause_inputs(fake), "pause_result": "paused"}),
        to_wire({**pause_inputs(fake), "sql_pool_id": POOL + "2"}),
    )
    assert diff.replaces == ["sql_pool_id"] and diff.delete_before_replace is False


def test_a_paused_pool_is_left_alone(fake):
    fake.add_sql_pool(POOL, "Paused")

    result = SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))

    assert fake.calls("POST") == [] and result.outs["pause_result"] == "already paused"


def test_a_pausing_pool_is_waited_for(fake):
    fake.add_sql_pool(POOL, "Pausing")
    timer = threading.Timer(0.2, lambda: fake.add_sql_pool(POOL, "Paused"))
    timer.start()
    try:
        result = SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))
    finally:
        timer.cancel()

    assert fake.calls("POST") == [] and result.outs["pause_result"] == "paused"
    assert len(fake.calls("GET", "sqlPools")) >= 2


def test_pause_recovers_from_faults_without_pausing_twice(fake):
    fake.add_sql_pool(POOL, "Online")
    fake.fail("GET", "sqlPools", count=1, status=503)
    fake.fail("POST", "/pause$", count=1, status=429, headers={"Retry-After": "0"})
    fake.fail("POST", "/pause$", count=1, drop=True, after=True)  # accepted, answer lost

    result = SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))

    # The dropped POST took effect (Pausing); the next attempt sees that and waits for it.
    assert [p.fault for p in fake.calls("POST")] == ["status:429", "drop"]
    assert fake.pool_status(POOL) == "Paused"
    assert result.outs["pause_result"] == "paused"


def test_a_busy_pool_409_is_retried(fake):
    fake.add_sql_pool(POOL, "Online")
    fake.fail(
        "POST",
        "/pause$",
        count=2,
        status=409,
        body={"error": {"code": "Conflict", "message": "scaling"}},
    )

    SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))

    assert [p.fault for p in fake.calls("POST")] == ["status:409", "status:409", None]
    assert fake.pool_status(POOL) == "Paused"


def test_pause_arm_403_says_what_role_is_missing(fake):
    fake.add_sql_pool(POOL, "Online")
    fake.fail("GET", "sqlPools", count=100, status=403, body=fs.ARM_403_BODY)

    with pytest.raises(DataPlaneError) as caught:
        SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))

    message = str(caught.value)
    assert "pause dedicated SQL pool" in message and POOL in message
    assert "AuthorizationFailed" in message and "Contributor" in message
    assert "lab:deployerIpAddress" not in message
    assert fake.pool_status(POOL) == "Online"


def test_a_missing_pool_fails_at_once(fake):
    with pytest.raises(DataPlaneError, match="HTTP 404") as caught:
        SqlPoolPauseProvider(FAST).create(to_wire(pause_inputs(fake)))
    assert caught.value.attempts == 1


# ----------------------------------------------------------------------------- Synapse RBAC


def rbac_inputs(server, assignments):
    return {"workspace_name": WORKSPACE, "endpoint": server.url, "assignments": assignments}


ADMIN_STUDENT = {"roleId": SYNAPSE_ADMINISTRATOR, "principalId": STUDENT, "principalType": "User"}
CONTRIB_TEACHER = {"roleId": SYNAPSE_CONTRIBUTOR, "principalId": TEACHER, "principalType": "Group"}


def test_role_assignments_are_put_with_deterministic_ids(fake, credential):
    provider = SynapseRoleAssignmentsProvider(FAST)

    result = provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT, CONTRIB_TEACHER])))

    expected_ids = [
        role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, STUDENT),
        role_assignment_id(WORKSPACE, SYNAPSE_CONTRIBUTOR, TEACHER),
    ]
    assert expected_ids[0] == str(
        uuid.uuid5(
            uuid.UUID("5d0c3b7e-52b5-4c55-9a51-3f1b8f3a6c21"),
            f"{WORKSPACE}/{SYNAPSE_ADMINISTRATOR}/{STUDENT}",
        )
    )
    puts = fake.calls("PUT")
    assert [p.path for p in puts] == [f"/roleAssignments/{i}" for i in expected_ids]
    assert all(p.query == {"api-version": "2020-12-01"} for p in puts)
    assert puts[0].body == {
        "roleId": SYNAPSE_ADMINISTRATOR,
        "principalId": STUDENT,
        "scope": f"workspaces/{WORKSPACE}",
        "principalType": "User",
    }
    assert puts[1].body["principalType"] == "Group"
    assert {r.authorization for r in fake.requests} == {f"Bearer {fs.SYNAPSE_TOKEN}"}
    assert result.outs["role_assignment_ids"] == expected_ids
    assert result.outs["assignments"] == [ADMIN_STUDENT, CONTRIB_TEACHER]

    # Creating again (a retried `pulumi up`) PUTs the same ids: no duplicates.
    provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT, CONTRIB_TEACHER])))
    assert sorted(fake.role_assignments) == sorted(expected_ids)


def test_role_assignment_diff_update_and_delete(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    created = provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT, CONTRIB_TEACHER])))
    fake.reset_log()

    reordered = provider.diff(
        created.id,
        to_wire(created.outs),
        to_wire(rbac_inputs(fake, [CONTRIB_TEACHER, ADMIN_STUDENT])),
    )
    assert reordered.changes is False

    teacher_as_user = {**CONTRIB_TEACHER, "principalType": "User"}
    new_admin = {"roleId": SYNAPSE_ADMINISTRATOR, "principalId": TEACHER, "principalType": "User"}
    news = rbac_inputs(fake, [teacher_as_user, new_admin])
    diff = provider.diff(created.id, to_wire(created.outs), to_wire(news))
    assert diff.changes is True and diff.replaces is None
    assert diff.diffs == sorted(
        [
            f"assignments.{SYNAPSE_ADMINISTRATOR}/{STUDENT}",
            f"assignments.{SYNAPSE_ADMINISTRATOR}/{TEACHER}",
            f"assignments.{SYNAPSE_CONTRIBUTOR}/{TEACHER}",
        ]
    )

    updated = provider.update(created.id, to_wire(created.outs), to_wire(news))
    student_id = role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, STUDENT)
    teacher_contrib_id = role_assignment_id(WORKSPACE, SYNAPSE_CONTRIBUTOR, TEACHER)
    teacher_admin_id = role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, TEACHER)
    # New and changed assignments first, the retired one last (never without a role).
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in fake.writes()] == [
        ("DELETE", teacher_contrib_id),
        ("PUT", teacher_contrib_id),
        ("PUT", teacher_admin_id),
        ("DELETE", student_id),
    ]
    assert fake.role_assignments[teacher_contrib_id]["principalType"] == "User"
    assert sorted(fake.role_assignments) == sorted([teacher_contrib_id, teacher_admin_id])
    assert updated.outs["role_assignment_ids"] == [teacher_contrib_id, teacher_admin_id]

    # No change: nothing is sent.
    fake.reset_log()
    provider.update(created.id, to_wire(updated.outs), to_wire(news))
    assert fake.requests == []

    del fake.role_assignments[teacher_admin_id]  # removed by hand: 404 on delete is fine
    provider.delete(created.id, to_wire(updated.outs))
    assert fake.role_assignments == {}


def test_role_assignment_already_held_under_another_id_is_accepted(fake):
    fake.role_assignments["creator-auto"] = {
        "id": "creator-auto",
        "roleDefinitionId": SYNAPSE_ADMINISTRATOR,
        "principalId": STUDENT,
        "scope": f"workspaces/{WORKSPACE}",
        "principalType": "User",
    }
    provider = SynapseRoleAssignmentsProvider(FAST)

    created = provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT])))
    provider.delete(created.id, to_wire(created.outs))

    # Ours was never created, so deleting ours is a 404 and the creator's stays.
    assert list(fake.role_assignments) == ["creator-auto"]


def test_role_assignment_recovers_from_faults_and_explains_rbac_403(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    fake.fail("PUT", "^/roleAssignments/", count=1, status=429, headers={"Retry-After": "0"})
    fake.fail("PUT", "^/roleAssignments/", count=1, drop=True, after=True)

    provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT])))
    assert len(fake.calls("PUT")) == 3 and len(fake.role_assignments) == 1

    fake.fail("PUT", "^/roleAssignments/", count=100, status=403, body=fs.RBAC_403_BODY)
    with pytest.raises(DataPlaneError) as caught:
        provider.create(to_wire(rbac_inputs(fake, [CONTRIB_TEACHER])))
    message = str(caught.value)
    assert f"Synapse role {SYNAPSE_CONTRIBUTOR}" in message and TEACHER in message
    assert "Synapse Administrator" in message and f"'{WORKSPACE}'" in message


def test_role_assignment_workspace_change_is_a_replacement(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    olds = {**rbac_inputs(fake, [ADMIN_STUDENT]), "role_assignment_ids": ["x"]}
    diff = provider.diff(
        "id",
        to_wire(olds),
        to_wire({**rbac_inputs(fake, [ADMIN_STUDENT]), "workspace_name": "other"}),
    )
    assert diff.replaces == ["workspace_name"]
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    diff = provider.diff(
        "id", to_wire(olds), to_wire(rbac_inputs(fake, [{**ADMIN_STUDENT, "principalId": unknown}]))
    )
    assert diff.changes is True and diff.diffs == ["assignments"]


def test_moving_a_student_from_administrator_to_the_lab_roles_adds_before_it_removes(fake):
    """The update of issue 26: Synapse Administrator -> Synapse Contributor + Credential
    User for the same student. Both new roles are PUT before the old one is deleted."""
    from lab.roles import SYNAPSE_CREDENTIAL_USER

    provider = SynapseRoleAssignmentsProvider(FAST)
    created = provider.create(to_wire(rbac_inputs(fake, [ADMIN_STUDENT])))
    fake.reset_log()
    lab_roles = [
        {"roleId": role, "principalId": STUDENT, "principalType": "User"}
        for role in (SYNAPSE_CONTRIBUTOR, SYNAPSE_CREDENTIAL_USER)
    ]
    provider.update(created.id, to_wire(created.outs), to_wire(rbac_inputs(fake, lab_roles)))
    ids = {
        role: role_assignment_id(WORKSPACE, role, STUDENT)
        for role in (SYNAPSE_ADMINISTRATOR, SYNAPSE_CONTRIBUTOR, SYNAPSE_CREDENTIAL_USER)
    }
    assert [(r.method, r.path.rsplit("/", 1)[1]) for r in fake.writes()] == [
        ("PUT", ids[SYNAPSE_CONTRIBUTOR]),
        ("PUT", ids[SYNAPSE_CREDENTIAL_USER]),
        ("DELETE", ids[SYNAPSE_ADMINISTRATOR]),
    ]
    assert sorted(fake.role_assignments) == sorted(
        [ids[SYNAPSE_CONTRIBUTOR], ids[SYNAPSE_CREDENTIAL_USER]]
    )
