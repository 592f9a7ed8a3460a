"""Drift: what `pulumi refresh` + `pulumi up` do with a student's workspace, provider by provider.

Each test drives the real providers as the engine does after a refresh: ``read``
with the stored outputs, then ``diff`` of the refreshed outputs against the
program's inputs, then ``update`` - every property bag through the engine's wire
format (``to_wire``) - against the fake Synapse/ARM server over HTTPS, and counts
what was PUT.
"""

from __future__ import annotations

import base64
import datetime
import json

import dill
import pytest

from lab.roles import SYNAPSE_ADMINISTRATOR, SYNAPSE_CONTRIBUTOR
from providers import client as _client
from providers.arm.purges import KeyVaultPurgeProvider, MlWorkspacePurgeProvider
from providers.base import from_wire
from providers.synapse.artifacts import (
    RESET_ENV,
    WorkspaceArtifactsProvider,
    content_sha256,
    copy_name,
    notebook_body,
    sql_script_body,
    studio_content_sha256,
)
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from providers.synapse.rbac import SynapseRoleAssignmentsProvider, role_assignment_id
from providers.synapse.sql_pool import SqlPoolPauseProvider
from tests.conftest import ROOT
from tests.fakes.synapse import FAST, to_wire, write_notebook
from tests.providers import test_legacy_paths as legacy
from tests.providers.test_synapse_artifacts import (
    WORKSPACE,
    artifacts_inputs,
    linked_service_inputs,
    with_hashes,
)

STUDENT = "3f2c1d4e-1111-2222-3333-444455556666"
TEACHER = "9a1d0000-aaaa-bbbb-cccc-dddddddddddd"
SCRIPT = "Load weather forecast"


def refresh_and_up(provider, resource_id, stored_outs, news):
    """What `pulumi refresh` then `pulumi up` do: read, then diff and (on changes) update.

    Returns (read result, diff result, the outputs after up or None when refresh dropped it).
    """
    read = provider.read(resource_id, to_wire({**stored_outs, "__provider": "blob"}))
    if not read.id:
        return read, None, None
    diff = provider.diff(read.id, to_wire(read.outs), to_wire(news))
    outs = read.outs
    if diff.changes:
        outs = provider.update(read.id, to_wire(read.outs), to_wire(news)).outs
    return read, diff, outs


def puts(server):
    return sorted(r.path for r in server.calls("PUT"))


def today_names(name):
    """The copy name for today (and tomorrow, should the test run across midnight)."""
    day = datetime.datetime.now(datetime.UTC).date()
    return {copy_name(name, day), copy_name(name, day + datetime.timedelta(days=1))}


def notebook_text(server, name):
    cells = server.artifacts["notebooks"][name]["properties"]["cells"]
    return ["".join(cell["source"]) for cell in cells]


# ----------------------------------------------------------------------------- notebooks and SQL scripts


def test_a_deleted_notebook_and_script_come_back_and_an_edited_notebook_is_kept(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    # The student deletes a notebook and the script, edits the other notebook, runs it.
    del fake.artifacts["notebooks"]["01-load-data"]
    del fake.artifacts["sqlScripts"][SCRIPT]
    fake.studio_save("notebooks", "02-train-automl", cell=2, text="my_own_training()\n")
    fake.reset_log()

    read, diff, outs = refresh_and_up(provider, created.id, created.outs, inputs)

    assert read.id == created.id
    assert sorted(read.outs["notebooks"]) == ["02-train-automl"]
    assert read.outs["sql_scripts"] == {}
    assert read.outs["edited"] == ["02-train-automl"]
    assert diff.changes and sorted(diff.diffs) == [
        "notebooks.01-load-data",
        f"sql_scripts.{SCRIPT}",
    ]
    # Only what was missing is PUT; the edited notebook is the student's.
    assert puts(fake) == ["/notebooks/01-load-data", f"/sqlScripts/{SCRIPT}"]
    assert sorted(fake.artifacts["notebooks"]) == ["01-load-data", "02-train-automl"]
    assert notebook_text(fake, "02-train-automl")[2] == "my_own_training()\n"
    assert outs["notebooks"] == inputs["notebooks"] and outs["kept_copies"] == []

    # A second refresh + up finds nothing to do (the edit is not drift).
    fake.reset_log()
    again, diff, _ = refresh_and_up(provider, created.id, outs, inputs)
    assert diff.changes is False and fake.writes() == []
    assert again.outs["edited"] == ["02-train-automl"]


def test_a_run_in_studio_is_not_an_edit(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    # Studio rewrites its own fields (pool options, cell metadata, outputs) on save.
    fake.studio_save("notebooks", "01-load-data")
    fake.studio_save("notebooks", "02-train-automl")
    stored = fake.artifacts["notebooks"]["01-load-data"]["properties"]
    assert "a365ComputeOptions" in stored["metadata"] and stored["cells"][1]["outputs"]

    read = provider.read(created.id, to_wire(created.outs))
    assert read.outs["edited"] == []


def test_a_new_course_version_keeps_the_students_edit_as_a_copy(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    fake.studio_save("notebooks", "02-train-automl", cell=2, text="my_own_training()\n")
    fake.studio_save("notebooks", "01-load-data")  # run, not edited
    student_body = json.loads(json.dumps(fake.artifacts["notebooks"]["02-train-automl"]))
    # The instructor changes both notebooks.
    for name, body in (("01-load-data", "load_v2()\n"), ("02-train-automl", "train_v2()\n")):
        write_notebook(
            tmp_path / "notebooks" / f"{name}.ipynb", {"data_lake_account": "x"}, body=body
        )
    news = with_hashes(inputs)
    fake.reset_log()

    read, diff, outs = refresh_and_up(provider, created.id, created.outs, news)

    assert diff.changes and sorted(diff.diffs) == [
        "notebooks.01-load-data",
        "notebooks.02-train-automl",
    ]
    [kept] = outs["kept_copies"]
    assert kept in today_names("02-train-automl")
    # The student's version, as it was, under the copy name; the course version in place.
    copy = fake.artifacts["notebooks"][kept]["properties"]
    assert studio_content_sha256("notebook", copy) == studio_content_sha256(
        "notebook", student_body["properties"]
    )
    assert notebook_text(fake, kept)[2] == "my_own_training()\n"
    assert notebook_text(fake, "02-train-automl")[2] == "train_v2()\n"
    assert notebook_text(fake, "01-load-data")[2] == "load_v2()\n"
    # No copy of the notebook that was only run; nothing else PUT.
    assert puts(fake) == sorted(
        ["/notebooks/01-load-data", "/notebooks/02-train-automl", f"/notebooks/{kept}"]
    )
    assert sorted(fake.artifacts["notebooks"]) == sorted(["01-load-data", "02-train-automl", kept])


def test_a_second_course_change_the_same_day_keeps_a_second_copy(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    outs = provider.create(to_wire(inputs)).outs
    kept = []
    for round_, body in enumerate(("v2()\n", "v3()\n")):
        fake.studio_save("notebooks", "01-load-data", cell=2, text=f"mine_{round_}()\n")
        write_notebook(
            tmp_path / "notebooks" / "01-load-data.ipynb", {"data_lake_account": "x"}, body=body
        )
        news = with_hashes(inputs)
        outs = provider.update("id", to_wire(outs), to_wire(news)).outs
        kept += outs["kept_copies"]
    assert len(kept) == 2 and kept[1] == kept[0].replace(")", " 2)")
    assert notebook_text(fake, kept[0])[2] == "mine_0()\n"
    assert notebook_text(fake, kept[1])[2] == "mine_1()\n"


def test_reset_puts_the_course_version_back_and_keeps_the_edit(fake, tmp_path, monkeypatch):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    course = notebook_text(fake, "02-train-automl")
    fake.studio_save("notebooks", "02-train-automl", cell=2, text="my_own_training()\n")
    fake.studio_save("notebooks", "01-load-data")  # only run
    fake.reset_log()

    # Without the reset, nothing changes.
    _, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)
    assert diff.changes is False and fake.writes() == []

    monkeypatch.setenv(RESET_ENV, "1")
    _, diff, outs = refresh_and_up(provider, created.id, created.outs, inputs)

    assert diff.changes is True
    [kept] = outs["kept_copies"]
    assert notebook_text(fake, "02-train-automl") == course
    assert notebook_text(fake, kept)[2] == "my_own_training()\n"
    assert puts(fake) == sorted(["/notebooks/02-train-automl", f"/notebooks/{kept}"])


def test_state_from_before_studio_hashes_keeps_an_edit_it_cannot_prove_is_ours(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    outs = provider.create(to_wire(inputs)).outs
    old_outs = {
        k: v for k, v in outs.items() if k not in ("studio_sha256", "edited", "kept_copies")
    }
    # The course file is unchanged: the old hash proves what was uploaded.
    assert provider.read("id", to_wire(old_outs)).outs["edited"] == []
    fake.studio_save("notebooks", "01-load-data", cell=2, text="mine()\n")
    assert provider.read("id", to_wire(old_outs)).outs["edited"] == ["01-load-data"]


# ----------------------------------------------------------------------------- faults and gone


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 429, "headers": {"Retry-After": "0"}},
        {"status": 503},
        {"drop": True},
        {"status": 403, "body": {"error": {"code": "Unauthorized", "message": "propagating"}}},
    ],
    ids=["429", "503", "dropped", "403"],
)
def test_read_under_transient_faults_returns_the_truth(fake, tmp_path, fault):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    del fake.artifacts["notebooks"]["01-load-data"]
    fake.fail("GET", "^/(notebooks|sqlScripts)/", count=2, **fault)

    read = provider.read(created.id, to_wire(created.outs))

    assert read.id == created.id
    assert sorted(read.outs["notebooks"]) == ["02-train-automl"]
    assert list(read.outs["sql_scripts"]) == [SCRIPT]
    assert len([r for r in fake.calls("GET") if r.fault]) == 2


def test_read_that_keeps_failing_raises_and_never_reports_gone(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    created = provider.create(to_wire(artifacts_inputs(fake, tmp_path)))
    fake.fail("GET", "^/notebooks/", count=1000, status=503)
    with pytest.raises(_client.DataPlaneError, match="read notebook '01-load-data'.*503"):
        provider.read(created.id, to_wire(created.outs))


def test_a_404_of_the_whole_workspace_makes_every_resource_gone(fake, tmp_path):
    artifacts = WorkspaceArtifactsProvider(FAST)
    linked = AzureMLLinkedServiceProvider(FAST)
    rbac = SynapseRoleAssignmentsProvider(FAST)
    a = artifacts.create(to_wire(artifacts_inputs(fake, tmp_path)))
    ls = linked.create(to_wire(linked_service_inputs(fake)))
    rb = rbac.create(to_wire(rbac_inputs(fake)))
    fake.fail(None, ".", count=1000, status=404, body={"error": {"code": "NotFound"}})

    for provider, created in ((artifacts, a), (linked, ls), (rbac, rb)):
        read = provider.read(created.id, to_wire(created.outs))
        assert not read.id and read.outs == {}, type(provider).__name__


def test_a_deleted_workspace_is_created_again_by_up(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    fake.delete_workspace()
    read = provider.read(created.id, to_wire(created.outs))
    assert not read.id  # refresh drops it; up creates it again:
    provider.create(to_wire(inputs))
    assert sorted(fake.artifacts["notebooks"]) == ["01-load-data", "02-train-automl"]


# ----------------------------------------------------------------------------- linked service


def test_a_deleted_linked_service_is_gone_and_created_again(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake)
    created = provider.create(to_wire(inputs))
    unchanged, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)
    assert unchanged.id == created.id and diff.changes is False

    del fake.artifacts["linkedservices"]["AzureML"]
    read = provider.read(created.id, to_wire(created.outs))
    assert not read.id
    fake.reset_log()
    provider.create(to_wire(inputs))
    assert puts(fake) == ["/linkedservices/AzureML"]


def test_a_linked_service_pointing_elsewhere_is_put_back(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake)
    created = provider.create(to_wire(inputs))
    stored = fake.artifacts["linkedservices"]["AzureML"]["properties"]
    stored["typeProperties"]["mlWorkspaceName"] = "someone-elses-workspace"
    stored["typeProperties"]["encryptedCredential"] = "service-side field, not drift"
    fake.reset_log()

    _, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)

    assert diff.changes is True and diff.diffs == ["properties_sha256"]
    assert puts(fake) == ["/linkedservices/AzureML"]
    put_back = fake.artifacts["linkedservices"]["AzureML"]["properties"]
    assert put_back["typeProperties"]["mlWorkspaceName"] == "amlabc1234"


def test_a_service_side_field_alone_is_not_drift(fake):
    provider = AzureMLLinkedServiceProvider(FAST)
    inputs = linked_service_inputs(fake)
    created = provider.create(to_wire(inputs))
    fake.artifacts["linkedservices"]["AzureML"]["properties"]["annotations"] = []
    fake.reset_log()
    _, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)
    assert diff.changes is False and fake.writes() == []


# ----------------------------------------------------------------------------- Synapse RBAC


ADMIN = {"roleId": SYNAPSE_ADMINISTRATOR, "principalId": STUDENT, "principalType": "User"}
CONTRIB = {"roleId": SYNAPSE_CONTRIBUTOR, "principalId": TEACHER, "principalType": "Group"}


def rbac_inputs(server, assignments=(ADMIN, CONTRIB)):
    return {"workspace_name": WORKSPACE, "endpoint": server.url, "assignments": list(assignments)}


def test_a_removed_role_assignment_is_assigned_again_and_only_it(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    inputs = rbac_inputs(fake)
    created = provider.create(to_wire(inputs))
    removed = role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, STUDENT)
    del fake.role_assignments[removed]
    fake.reset_log()

    read, diff, outs = refresh_and_up(provider, created.id, created.outs, inputs)

    assert read.outs["assignments"] == [CONTRIB]
    assert diff.changes is True
    assert puts(fake) == [f"/roleAssignments/{removed}"]
    assert removed in fake.role_assignments
    assert outs["assignments"] == [ADMIN, CONTRIB]


def test_a_role_held_under_another_id_is_present(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    inputs = rbac_inputs(fake, [ADMIN])
    created = provider.create(to_wire(inputs))
    ours = role_assignment_id(WORKSPACE, SYNAPSE_ADMINISTRATOR, STUDENT)
    item = fake.role_assignments.pop(ours)
    fake.role_assignments["portal-made-id"] = {**item, "id": "portal-made-id"}
    fake.reset_log()

    read, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)

    assert read.id and read.outs["assignments"] == [ADMIN] and diff.changes is False
    listed = fake.calls("GET", "^/roleAssignments$")
    assert listed and listed[0].query["principalId"] == STUDENT
    assert fake.writes() == []


def test_role_read_retries_propagation_403(fake):
    provider = SynapseRoleAssignmentsProvider(FAST)
    created = provider.create(to_wire(rbac_inputs(fake)))
    fake.fail("GET", "^/roleAssignments/", count=2, status=403)
    read = provider.read(created.id, to_wire(created.outs))
    assert read.outs["assignments"] == [ADMIN, CONTRIB]


# ----------------------------------------------------------------------------- SQL pool pause, purges

POOL = (
    "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers/"
    "Microsoft.Synapse/workspaces/synapsetest01/sqlPools/sqltest01"
)


def test_pause_read_leaves_a_resumed_pool_alone_and_a_gone_pool_gone(fake):
    provider = SqlPoolPauseProvider(FAST)
    fake.add_sql_pool(POOL)
    inputs = {"sql_pool_id": POOL, "arm_endpoint": fake.url}
    created = provider.create(to_wire(inputs))
    fake.sql_pools[POOL.lower()]["status"] = "Online"  # the student resumed it
    fake.fail("GET", "sqlPools", count=1, status=503)
    fake.reset_log()

    read, diff, _ = refresh_and_up(provider, created.id, created.outs, inputs)

    assert read.id == created.id and read.outs == created.outs
    assert diff.changes is False and fake.writes() == []
    assert fake.pool_status(POOL) == "Online"

    del fake.sql_pools[POOL.lower()]
    gone = provider.read(created.id, to_wire(created.outs))
    assert not gone.id


def test_purges_read_tolerates_a_target_already_gone_and_sends_nothing(fake):
    workspace = (
        "/subscriptions/00000000-0000-0000-0000-0000000000aa/resourceGroups/rg/providers/"
        "Microsoft.MachineLearningServices/workspaces/amltest01"
    )
    ml = MlWorkspacePurgeProvider(FAST)
    created = ml.create(to_wire({"workspace_id": workspace, "arm_endpoint": fake.url}))
    vault = KeyVaultPurgeProvider(FAST)
    vault_inputs = {
        "subscription_id": "00000000-0000-0000-0000-0000000000aa",
        "resource_group_name": "rg",
        "location": "westeurope",
        "vault_name": "kvtest01",
        "arm_endpoint": fake.url,
    }
    vault_created = vault.create(to_wire(vault_inputs))
    fake.reset_log()

    for provider, done in ((ml, created), (vault, vault_created)):
        read = provider.read(done.id, to_wire(done.outs))
        assert read.id == done.id and read.outs == done.outs
    assert fake.requests == []


# ----------------------------------------------------------------------------- state from before `read`


@pytest.mark.parametrize("name", sorted(legacy.RESOURCES))
def test_recorded_old_state_refreshes_and_updates(fake, name, monkeypatch):
    """The recorded state (before the layout change, and before `read` existed) refreshes, diffs
    clean and updates; a deleted artifact, linked service or role in it comes back."""
    monkeypatch.chdir(ROOT)  # the provider process runs in the project directory
    resource = legacy.RESOURCES[name]
    provider = dill.loads(base64.b64decode(resource["provider"]))
    provider.retry = FAST
    news = legacy._with_endpoint(resource["inputs"], fake.url)
    olds = legacy._with_endpoint(resource["outputs"], fake.url)
    legacy._setup_live(fake, resource)
    if name.endswith("pause-sql"):
        fake.add_sql_pool(news["sql_pool_id"], status="Online")
    provider.create(to_wire(news))

    read = provider.read(resource["id"], to_wire(olds))
    assert read.id == resource["id"]
    diff = provider.diff(read.id, to_wire(read.outs), to_wire(news))
    assert diff.changes is False, diff.diffs
    provider.update(read.id, to_wire(read.outs), to_wire(news))

    # What a student can delete comes back through refresh + up, and only that.
    if name.endswith("artifacts"):
        del fake.artifacts["notebooks"]["03-predict"]
        # Plus the notebooks and SQL scripts changed in notebooks/ since the state was
        # recorded: their recorded hash is not the course version's any more, so up uploads
        # them (as it would have without the refresh); with no copy, as the workspace holds
        # the course version.
        changed = [
            f"/notebooks/{nb}"
            for nb, entry in news["notebooks"].items()
            if content_sha256(notebook_body(entry, from_wire(news))) != entry["sha256"]
        ] + [
            f"/sqlScripts/{name}"
            for name, entry in (news.get("sql_scripts") or {}).items()
            if content_sha256(sql_script_body(entry, from_wire(news))) != entry["sha256"]
        ]
        expected = sorted({"/notebooks/03-predict", *changed})
    elif name.endswith("azureml"):
        fake.artifacts["linkedservices"].clear()
        expected = ["/linkedservices/AzureML"]
    elif name.endswith("synapse-admin"):
        fake.role_assignments.clear()
        expected = [f"/roleAssignments/{olds['role_assignment_ids'][0]}"]
    else:
        return
    fake.reset_log()
    read, diff, _ = refresh_and_up(provider, resource["id"], olds, news)
    if not read.id:  # the only one of its kind was gone: refresh drops it, up creates it
        provider.create(to_wire(news))
    assert puts(fake) == expected


def test_a_notebook_detached_from_the_spark_pool_is_drift_and_its_text_is_kept(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(fake, tmp_path)
    created = provider.create(to_wire(inputs))
    stored = fake.artifacts["notebooks"]["01-load-data"]["properties"]
    stored["bigDataPool"] = {"referenceName": "otherpool", "type": "BigDataPoolReference"}
    fake.studio_save("notebooks", "01-load-data", cell=2, text="mine()\n")
    fake.reset_log()

    read, diff, outs = refresh_and_up(provider, created.id, created.outs, inputs)

    assert diff.changes and diff.diffs == ["notebooks.01-load-data"]
    rebound = fake.artifacts["notebooks"]["01-load-data"]["properties"]
    assert rebound["bigDataPool"]["referenceName"] == "sparkabc1234"
    [kept] = outs["kept_copies"]
    assert notebook_text(fake, kept)[2] == "mine()\n"
    assert puts(fake) == sorted(["/notebooks/01-load-data", f"/notebooks/{kept}"])
