"""The permission proof (lab/permissions.yaml): every lab step is covered, nothing forbidden is granted.

Evaluated with Azure's rules (lab/permissions.py) against Microsoft's published
built-in role definitions (tests/fixtures/builtin_roles.json) and the project's
own custom role, and compared with what the program really declares.
"""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from classroom.planning.simulate import run_program
from lab import roles
from lab.permissions import Grant, Need, Proof, Role, matches, roles_from
from tests.conftest import ROOT

FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "builtin_roles.json").read_text())
BUILT_IN = FIXTURE["roles"]
OPERATOR = roles.SQL_POOL_OPERATOR.role_name


@pytest.fixture
def proof():
    return Proof.load()


def all_roles(custom=roles.CUSTOM_ROLES):
    return roles_from(BUILT_IN, custom)


def granting(proof, step, operation, available=None):
    (need,) = [
        n
        for s in proof.steps
        if s["step"].startswith(step)
        for n in s["needs"]
        if n.operation == operation
    ]
    return proof.granting(need, available or all_roles())


# --- the proof holds ---


def test_every_lab_step_is_covered_by_the_granted_roles(proof):
    assert proof.uncovered(all_roles()) == []
    # and by the role meant for it, not by accident
    assert granting(proof, "Resume", "Microsoft.Synapse/workspaces/sqlPools/pause/action") == [
        OPERATOR
    ]
    assert granting(
        proof, "Notebook 02-train", "Microsoft.MachineLearningServices/workspaces/jobs/write"
    ) == ["AzureML Data Scientist"]
    assert granting(
        proof,
        "Notebook 01",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    ) == ["Storage Blob Data Contributor"]
    assert granting(proof, "Run the SQL scripts", "dedicated SQL pools") == [
        "Synapse Administrator"
    ]
    assert granting(
        proof, "See the lab's", "Microsoft.Resources/subscriptions/resourceGroups/read"
    ) == ["Reader"]


def test_no_forbidden_operation_is_granted_beyond_the_listed_exceptions(proof):
    assert proof.excess(all_roles()) == []
    assert proof.stale_exceptions(all_roles()) == []
    # The exceptions are few, named, and none of them scales a pool or grants access.
    assert sorted(
        e["action"].rsplit("/", 2)[-2] + "/" + e["status"] for e in proof.not_prevented
    ) == [
        "computes/unconfirmed",
        "computes/unconfirmed",
        "deployments/allowed",
    ]
    for need in proof.forbidden:
        if "Synapse" in need.operation or "Authorization" in need.operation:
            assert proof.granting(need, all_roles()) == [], need


def test_the_issues_forbidden_operations_are_all_in_the_proof(proof):
    forbidden = {f.operation for f in proof.forbidden}
    for operation in (
        "Microsoft.Synapse/workspaces/sqlPools/write",
        "Microsoft.Synapse/workspaces/bigDataPools/write",
        "Microsoft.MachineLearningServices/workspaces/computes/write",
        "Microsoft.MachineLearningServices/workspaces/computes/delete",
        "Microsoft.Compute/virtualMachines/write",
        "Microsoft.Authorization/roleAssignments/write",
    ):
        assert operation in forbidden


# --- and it fails when a role changes ---


def test_removing_a_needed_action_from_the_custom_role_breaks_the_proof(proof):
    without_pause = dataclasses.replace(
        roles.SQL_POOL_OPERATOR,
        actions=tuple(a for a in roles.SQL_POOL_OPERATOR.actions if not a.endswith("pause/action")),
    )
    uncovered = proof.uncovered(all_roles([without_pause]))
    assert [(step, n.operation) for step, n in uncovered] == [
        (
            "Resume the dedicated SQL pool for the T-SQL part, pause it after (Studio, portal or az)",
            "Microsoft.Synapse/workspaces/sqlPools/pause/action",
        )
    ]


def test_adding_a_forbidden_action_to_the_custom_role_breaks_the_proof(proof):
    scaling = dataclasses.replace(
        roles.SQL_POOL_OPERATOR,
        actions=(*roles.SQL_POOL_OPERATOR.actions, "Microsoft.Synapse/workspaces/sqlPools/*"),
    )
    excess = proof.excess(all_roles([scaling]))
    assert [(n.operation, n.scope, who) for n, who in excess] == [
        ("Microsoft.Synapse/workspaces/sqlPools/write", "sql-pool", [OPERATOR]),
        ("Microsoft.Synapse/workspaces/sqlPools/delete", "sql-pool", [OPERATOR]),
    ]


def test_removing_a_needed_action_from_a_built_in_role_breaks_the_proof(proof):
    definitions = json.loads(json.dumps(BUILT_IN))
    definitions["Storage Blob Data Contributor"]["dataActions"].remove(
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action"
    )
    uncovered = proof.uncovered(roles_from(definitions))
    assert [n.operation.rsplit("/", 2)[-2:] for _, n in uncovered] == [["move", "action"]]


@pytest.mark.parametrize("role", ["Contributor", "Owner"])
def test_contributor_or_owner_on_the_resource_group_breaks_the_proof(proof, role):
    proof.grants = [
        Grant(role, "resource-group") if g.role == "Reader" else g for g in proof.grants
    ]
    excess = {n.operation for n, who in proof.excess(all_roles()) if role in who}
    assert "Microsoft.Synapse/workspaces/sqlPools/write" in excess
    assert "Microsoft.Compute/virtualMachines/write" in excess
    assert ("Microsoft.Authorization/roleAssignments/write" in excess) == (role == "Owner")


# --- Azure's rules, as the evaluator applies them ---


def test_wildcards_match_any_run_of_characters_case_insensitively():
    assert matches("*", "Microsoft.Compute/virtualMachines/write")
    assert matches("*/read", "Microsoft.Resources/subscriptions/resourceGroups/read")
    assert not matches("*/read", "Microsoft.Storage/storageAccounts/listkeys/action")
    assert matches(
        "Microsoft.Authorization/*/Write", "microsoft.authorization/roleassignments/write"
    )
    assert matches("Microsoft.Network/*", "Microsoft.Network/virtualNetworks/subnets/join/action")
    assert matches("a/*/write", "a/b/c/write")
    assert not matches("a/*/write", "a/write")  # `*` sits between two slashes
    assert not matches(
        "Microsoft.Synapse/workspaces/sqlPools/read", "Microsoft.Synapse/workspaces/sqlPools/read/x"
    )
    assert not matches("a.b", "axb")  # only `*` is special


def test_not_actions_subtract_within_a_role_and_do_not_deny_another():
    contributor = all_roles()["Contributor"]
    assert contributor.allows("action", "Microsoft.Synapse/workspaces/sqlPools/write")
    assert not contributor.allows("action", "Microsoft.Authorization/roleAssignments/write")
    proof = Proof(
        parents={"rg": None},
        grants=[Grant("Contributor", "rg"), Grant("Owner", "rg")],
        steps=[],
        forbidden=[
            Need("azure-rbac", "action", "Microsoft.Authorization/roleAssignments/write", "rg")
        ],
    )
    # Contributor's NotActions do not take away what Owner grants.
    assert [who for _, who in proof.excess(all_roles())] == [["Owner"]]


def test_actions_never_grant_data_actions():
    owner = all_roles()["Owner"]
    blob_read = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
    assert owner.allows("action", blob_read)  # as an action string `*` matches it...
    assert not owner.allows("dataAction", blob_read)  # ...but Owner reads no blob data
    assert all_roles()["Storage Blob Data Contributor"].allows("dataAction", blob_read)


def test_a_role_reaches_its_scope_and_below_only(proof):
    assert proof.reaches("resource-group", "sql-pool")
    assert proof.reaches("sql-pool", "sql-pool")
    assert not proof.reaches("sql-pool", "synapse-workspace")
    assert not proof.reaches("ml-workspace", "data-lake")
    with pytest.raises(ValueError, match="unknown scope 'subscription'"):
        proof.reaches("subscription", "sql-pool")
    # the pool operator on the pool does not reach a new pool in the workspace
    create = Need(
        "azure-rbac", "action", "Microsoft.Synapse/workspaces/sqlPools/write", "synapse-workspace"
    )
    scaling = dataclasses.replace(
        roles.SQL_POOL_OPERATOR, actions=("Microsoft.Synapse/workspaces/sqlPools/write",)
    )
    assert proof.granting(create, all_roles([scaling])) == []


def test_a_need_names_one_kind_and_a_known_system():
    with pytest.raises(ValueError, match="exactly one of"):
        Need.parse({"action": "a", "dataAction": "b", "scope": "rg"})
    with pytest.raises(ValueError, match="unknown system 'arm'"):
        Need.parse({"system": "arm", "action": "a", "scope": "rg"})
    with pytest.raises(ValueError, match="unknown kind"):
        Role("r", "azure-rbac").allows("condition", "x")


# --- the fixture and the proof match the program ---


def test_the_fixture_is_microsofts_with_its_source_and_date():
    assert FIXTURE["retrieved"] == "2026-12-05"
    ids = {
        "Reader": roles.READER,
        "Contributor": roles.CONTRIBUTOR,
        "Owner": roles.OWNER,
        "AzureML Data Scientist": roles.AZUREML_DATA_SCIENTIST,
        "Storage Blob Data Contributor": roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        "Synapse Administrator": roles.SYNAPSE_ADMINISTRATOR,
        "Synapse Contributor": roles.SYNAPSE_CONTRIBUTOR,
    }
    assert {name: r["id"] for name, r in BUILT_IN.items()} == ids
    for definition in BUILT_IN.values():
        source = definition["source"]
        assert source["url"].startswith("https://learn.microsoft.com/")
        assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
        assert source["repo"] == "MicrosoftDocs/azure-docs"


def test_every_step_cites_a_microsoft_doc_and_every_granted_role_is_known(proof):
    for step in proof.steps:
        assert step["doc"].startswith("https://learn.microsoft.com/"), step["step"]
        assert step["needs"], step["step"]
    known = all_roles()
    assert all(g.role in known for g in proof.grants)
    assert all(g.scope in proof.parents for g in proof.grants)


def scope_kind(scope: str) -> str:
    for pattern, kind in (
        (r"/resourceGroups/[^/]+", "resource-group"),
        (r"/sqlPools/[^/]+", "sql-pool"),
        (r"/Microsoft\.MachineLearningServices/workspaces/[^/]+", "ml-workspace"),
        (r"/Microsoft\.Storage/storageAccounts/datalake[^/]+", "data-lake"),
    ):
        if re.search(pattern + "$", scope):
            return kind
    raise AssertionError(f"a student role on an unexpected scope: {scope}")


def test_the_proofs_grants_are_what_the_program_declares_for_a_student(proof):
    from tests.conftest import BASE_CONFIG

    student = "0a1b2c3d-0000-4000-8000-000000000042"
    sim = run_program({**BASE_CONFIG, "lab:students": [{"id": "kim", "objectId": student}]})
    names = {**roles.ROLE_NAMES}
    for definition in sim.of_type("azure-native:authorization:RoleDefinition"):
        names[definition.inputs["roleDefinitionId"]] = OPERATOR
    declared = sorted(
        (names[r.inputs["roleDefinitionId"].rsplit("/", 1)[1]], scope_kind(r.inputs["scope"]))
        for r in sim.of_type("azure-native:authorization:RoleAssignment")
        if r.inputs["principalId"] == student
    )
    (synapse,) = sim.of_type("pulumi-python:dynamic/synapse-ml-lab:SynapseRoleAssignments")
    assert synapse.inputs["assignments"] == [
        {"roleId": roles.SYNAPSE_ADMINISTRATOR, "principalType": "User", "principalId": student}
    ]
    declared.append(("Synapse Administrator", "synapse-workspace"))
    assert sorted(declared) == sorted((g.role, g.scope) for g in proof.grants)
