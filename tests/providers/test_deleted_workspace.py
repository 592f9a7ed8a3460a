"""A whole workspace deleted (or re-created): refresh drops what was in it, `up` puts it all back.

The student's workspace endpoint is the fake Synapse data plane; deleting the workspace
stops that server, so its address refuses connections (what a deleted workspace's
endpoint really answers, a name that no longer resolves or nothing listening, only Azure
can confirm: docs/pilot-checklist.md). ARM is the fake ARM (tests/fakes/arm.py), whose
"Workspaces - Get" answers 200 while the workspace exists and 404 ``ResourceNotFound``
once it is deleted. Each provider is driven as `pulumi refresh` then `pulumi up` drive
it, every property bag through the engine's wire format.
"""

from __future__ import annotations

import pytest

from lab import cost_guard
from lab.roles import SYNAPSE_ADMINISTRATOR
from providers import client as _client
from providers.synapse.artifacts import WorkspaceArtifactsProvider
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from providers.synapse.pause_schedule import PauseScheduleProvider
from providers.synapse.rbac import SynapseRoleAssignmentsProvider, role_assignment_id
from tests.fakes.arm import FakeArm
from tests.fakes.synapse import FAST, to_wire
from tests.providers.test_synapse_artifacts import (
    WORKSPACE,
    artifacts_inputs,
    linked_service_inputs,
)

SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
WORKSPACE_ID = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/dp000-abc1234/providers/"
    f"Microsoft.Synapse/workspaces/{WORKSPACE}"
)
STUDENT = "3f2c1d4e-1111-2222-3333-444455556666"


@pytest.fixture
def arm(tls_files):
    with FakeArm(tls_files) as server:
        server.add_subscription(SUBSCRIPTION, registered=("Microsoft.Synapse",))
        server.owned.add(WORKSPACE_ID.lower())
        yield server


def declared(fake, arm, tmp_path):
    """(provider, inputs) of the four data-plane resources of one workspace, as the program has them."""
    where = {"workspace_id": WORKSPACE_ID, "arm_endpoint": arm.url}
    return [
        (WorkspaceArtifactsProvider(FAST), artifacts_inputs(fake, tmp_path, **where)),
        (AzureMLLinkedServiceProvider(FAST), linked_service_inputs(fake, **where)),
        (
            SynapseRoleAssignmentsProvider(FAST),
            {
                "workspace_name": WORKSPACE,
                "endpoint": fake.url,
                "assignments": [
                    {
                        "roleId": SYNAPSE_ADMINISTRATOR,
                        "principalId": STUDENT,
                        "principalType": "User",
                    }
                ],
                **where,
            },
        ),
        (
            PauseScheduleProvider(FAST),
            {
                "workspace_name": WORKSPACE,
                "endpoint": fake.url,
                # The workspace is the one this pool belongs to (no workspace_id needed).
                "sql_pool_id": f"{WORKSPACE_ID}/sqlPools/sqlabc1234",
                "times": ["23:00"],
                "time_zone": "Europe/Amsterdam",
                "arm_endpoint": arm.url,
            },
        ),
    ]


def read(provider, created):
    return provider.read(created.id, to_wire({**created.outs, "__provider": "blob"}))


def workspace_gets(arm):
    return [r for r in arm.calls("GET", "/Microsoft.Synapse/workspaces/") if not r.fault]


def delete_workspace(fake, arm):
    fake.stop()  # nothing listens at the endpoint any more: connections are refused
    arm.owned.discard(WORKSPACE_ID.lower())


def test_a_deleted_workspace_drops_everything_in_it_and_up_puts_it_all_back(fake, arm, tmp_path):
    resources = [
        (provider, inputs, provider.create(to_wire(inputs)))
        for provider, inputs in declared(fake, arm, tmp_path)
    ]
    delete_workspace(fake, arm)
    arm.reset_log()

    # `pulumi refresh`: every read asks ARM once and reports its resource gone.
    for provider, _, created in resources:
        gone = read(provider, created)
        assert not gone.id and gone.outs == {}, type(provider).__name__
    gets = workspace_gets(arm)
    assert [r.path for r in gets] == [WORKSPACE_ID] * 4
    assert {r.query["api-version"] for r in gets} == {"2021-06-01"}  # lab/api_versions.py SYNAPSE
    assert arm.writes() == []

    # The workspace is created again (same name, same endpoint, empty); `up` creates them all.
    fake.delete_workspace()
    fake.start()
    arm.owned.add(WORKSPACE_ID.lower())
    recreated = [(provider, provider.create(to_wire(inputs))) for provider, inputs, _ in resources]

    assert sorted(fake.artifacts["notebooks"]) == ["01-load-data", "02-train-automl"]
    assert sorted(fake.artifacts["sqlScripts"]) == ["Load weather forecast"]
    assert list(fake.artifacts["linkedservices"]) == ["AzureML"]
    assert list(fake.role_assignments) == [
        role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, STUDENT)
    ]
    assert list(fake.artifacts["pipelines"]) == [cost_guard.PAUSE_PIPELINE_NAME]
    [trigger] = fake.artifacts["triggers"]
    assert fake.trigger_state(trigger) == "Started"
    # And the next refresh finds them all where they belong.
    for provider, again in recreated:
        assert read(provider, again).id == again.id


def test_a_workspace_that_exists_but_cannot_be_reached_fails_and_says_what_to_check(
    fake, arm, tmp_path
):
    resources = [
        (provider, provider.create(to_wire(inputs)))
        for provider, inputs in declared(fake, arm, tmp_path)
    ]
    fake.stop()  # the workspace is still there (ARM: 200), its endpoint is not reachable
    for provider, created in resources:
        arm.reset_log()
        with pytest.raises(_client.DataPlaneError) as raised:
            read(provider, created)
        message = str(raised.value)
        assert f"gave up after {FAST.max_attempts} attempt(s)" in message
        assert "exists in Azure Resource Manager" in message and "DNS" in message
        assert "firewall" in message
        # Asked once, however many attempts the read made.
        assert len(workspace_gets(arm)) == 1, type(provider).__name__


def test_a_name_that_does_not_resolve_counts_as_unreachable(fake, arm, tmp_path):
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake, workspace_id=WORKSPACE_ID, arm_endpoint=arm.url)
    created = provider.create(to_wire(inputs))
    # RFC 6761: names under .invalid never resolve, as a deleted workspace's name most likely.
    outs = {**created.outs, "endpoint": f"https://{WORKSPACE}.dev.azuresynapse.invalid"}
    arm.owned.discard(WORKSPACE_ID.lower())
    gone = provider.read(created.id, to_wire(outs))
    assert not gone.id
    assert len(workspace_gets(arm)) == 1


def test_state_without_the_workspace_id_never_reports_gone_on_a_network_error(fake, arm, tmp_path):
    """State written before the resources recorded the workspace id: nothing to ask, so the
    refresh fails (the state stays) until the next `up` records it."""
    provider = WorkspaceArtifactsProvider(FAST)
    created = provider.create(to_wire(artifacts_inputs(fake, tmp_path)))
    delete_workspace(fake, arm)
    with pytest.raises(_client.DataPlaneError, match="could not be reached"):
        read(provider, created)
    assert workspace_gets(arm) == []


def test_arm_that_cannot_answer_is_an_error_not_gone(fake, arm, tmp_path):
    provider = SynapseRoleAssignmentsProvider(FAST)
    [_, _, (_, inputs), _] = declared(fake, arm, tmp_path)
    created = provider.create(to_wire(inputs))
    delete_workspace(fake, arm)
    arm.fail("GET", "/Microsoft.Synapse/workspaces/", count=1000, status=403)
    with pytest.raises(_client.DataPlaneError, match="ask whether the workspace exists.*403"):
        read(provider, created)


def test_a_reachable_workspace_never_asks_arm(fake, arm, tmp_path):
    for provider, inputs in declared(fake, arm, tmp_path):
        created = provider.create(to_wire(inputs))
        assert read(provider, created).id == created.id
    assert workspace_gets(arm) == []


def test_the_first_up_after_the_upgrade_records_the_workspace_id_and_sends_nothing(
    fake, arm, tmp_path
):
    """State from before: the program now declares workspace_id, an update with no call."""
    for provider, inputs in declared(fake, arm, tmp_path):
        old = {k: v for k, v in inputs.items() if k not in ("workspace_id", "arm_endpoint")}
        created = provider.create(to_wire(old))
        fake.reset_log()
        diff = provider.diff(created.id, to_wire(created.outs), to_wire(inputs))
        if "workspace_id" not in inputs:  # the pause schedule takes it from its pool
            assert "arm_endpoint" in diff.diffs and not diff.replaces
        else:
            assert "workspace_id" in diff.diffs and not diff.replaces
        updated = provider.update(created.id, to_wire(created.outs), to_wire(inputs))
        assert fake.requests == [], type(provider).__name__
        assert updated.outs.get("workspace_id") == inputs.get("workspace_id")
