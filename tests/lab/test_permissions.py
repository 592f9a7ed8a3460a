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
from lab.permissions import STUDENT, Grant, Identity, Need, Proof, Role, matches
from tests.conftest import ROOT

FIXTURE = json.loads((ROOT / "tests" / "fixtures" / "builtin_roles.json").read_text())
BUILT_IN = FIXTURE["roles"]
OPERATOR = roles.SQL_POOL_OPERATOR.role_name


@pytest.fixture
def proof():
    return Proof.load()


def all_roles(*replacing, definitions=BUILT_IN):
    """Every role, the project's custom ones with ``replacing`` in place of those of its key."""
    changed = {r.key: r for r in replacing}
    return Proof.load().roles(definitions, [changed.get(c.key, c) for c in roles.CUSTOM_ROLES])


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
    ) == [roles.AML_STUDENT.role_name]
    assert granting(
        proof,
        "Notebook 01",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
    ) == ["Storage Blob Data Contributor"]
    # The role page's "Full Synapse access to serverless and dedicated SQL pools".
    assert granting(proof, "Run the SQL scripts", "dedicated SQL pools") == [
        "Synapse Administrator"
    ]
    assert granting(proof, "Notebook 03", "dedicated SQL pools") == ["Synapse Administrator"]
    assert granting(
        proof, "Notebook 01", "Microsoft.Synapse/workspaces/bigDataPools/useCompute/action"
    ) == ["Synapse Administrator"]
    assert granting(
        proof, "The optional", "Microsoft.Synapse/workspaces/credentials/useSecret/action"
    ) == ["Synapse Administrator"]
    assert granting(
        proof, "See the lab's", "Microsoft.Resources/subscriptions/resourceGroups/read"
    ) == ["Reader"]


def test_the_predict_with_a_model_wizard_is_covered(proof):
    """The optional wizard: the AzureML linked service through the workspace identity's
    credential, the model list, the generated SQL script on the pool."""
    (wizard,) = [s for s in proof.steps if "Predict with a model" in s["step"]]
    by = {n.operation: proof.granting(n, all_roles()) for n in wizard["needs"]}
    assert by == {
        "Microsoft.Synapse/workspaces/linkedServices/useSecret/action": ["Synapse Administrator"],
        "Microsoft.Synapse/workspaces/credentials/useSecret/action": ["Synapse Administrator"],
        "Microsoft.Synapse/workspaces/sqlScripts/write": ["Synapse Administrator"],
        "Microsoft.MachineLearningServices/workspaces/models/read": [
            "Reader",
            roles.AML_STUDENT.role_name,
        ],
        "dedicated SQL pools": ["Synapse Administrator"],
    }


RESIDUAL = {
    "Microsoft.Synapse/workspaces/roleAssignments/write",
    "Microsoft.Synapse/workspaces/roleAssignments/delete",
    "Microsoft.Synapse/workspaces/managedPrivateEndpoint/write",
    "Microsoft.Synapse/workspaces/triggers/write",
    "Microsoft.Synapse/workspaces/triggers/delete",
    "Microsoft.Synapse/workspaces/pipelines/write",
    "Microsoft.Synapse/workspaces/pipelines/delete",
    "serverless",
    "dedicated SQL pools",
}


def residual_operation(entry):
    return entry.get("action") or entry["sqlPools"]


def test_no_forbidden_operation_is_granted_beyond_the_listed_exceptions(proof):
    assert proof.excess(all_roles()) == []
    assert proof.stale_exceptions(all_roles()) == []
    # The residual powers are Synapse Administrator's, the student's own, each with
    # what it means and its source; none is the workspace identity's.
    assert {residual_operation(e) for e in proof.not_prevented} == RESIDUAL
    for entry in proof.not_prevented:
        assert entry["role"] == "Synapse Administrator", entry
        assert entry["system"] == "synapse-rbac" and "principal" not in entry, entry
        assert entry["status"].split(":")[0] in {
            "accepted",
            "inert",
            "seen and backed up",
            "needed, and more than needed",
        }, entry
        assert entry["doc"].startswith("https://learn.microsoft.com/"), entry
    (scaling,) = [e for e in proof.not_prevented if e.get("sqlPools") == "dedicated SQL pools"]
    assert "NOT DOCUMENTED" in scaling["status"] and "SERVICE_OBJECTIVE" in scaling["status"]
    guard = [e for e in proof.not_prevented if "/triggers/" in residual_operation(e)]
    assert all("classroom status" in e["status"] and "pause.yml" in e["status"] for e in guard)


@pytest.mark.parametrize("operation", sorted(RESIDUAL))
def test_a_residual_power_not_named_fails_the_proof(proof, operation):
    """Each residual power is allowed only because it is named: take its entry away and
    the proof reports it, by the role that allows it."""
    proof.not_prevented = [e for e in proof.not_prevented if residual_operation(e) != operation]
    assert [(n.operation, who, by) for n, who, by in proof.excess(all_roles())] == [
        (operation, STUDENT, ["Synapse Administrator"])
    ]


def test_a_residual_power_another_role_also_gives_fails_the_proof(proof):
    """A residual entry covers exactly its role: Synapse Contributor beside Synapse
    Administrator also writes triggers and pipelines, and the proof reports it."""
    proof.grants = [*proof.grants, Grant("Synapse Contributor", "synapse-workspace")]
    excess = {(n.operation, tuple(by)) for n, _, by in proof.excess(all_roles())}
    assert excess == {
        (f"Microsoft.Synapse/workspaces/{what}", ("Synapse Administrator", "Synapse Contributor"))
        for what in ("triggers/write", "triggers/delete", "pipelines/write", "pipelines/delete")
    }


def test_smaller_synapse_roles_lose_the_sql_steps_and_leave_the_residuals_stale(proof):
    """Why Synapse Administrator: Synapse Contributor + Credential User (the smallest set
    for notebooks and the linked service) have no SQL pool access on the role page, so
    the part 2 scripts, notebook 03's load and the wizard are lost; and the residual
    entries they do not explain are stale, which fails the proof too."""
    proof.grants = [g for g in proof.grants if g.role != "Synapse Administrator"] + [
        Grant("Synapse Contributor", "synapse-workspace"),
        Grant("Synapse Credential User", "synapse-workspace"),
    ]
    lost = {(step.split(" ")[0], n.operation) for step, n in proof.uncovered(all_roles())}
    assert lost == {
        ("Notebook", "dedicated SQL pools"),
        ("Run", "dedicated SQL pools"),
        ("The", "dedicated SQL pools"),
    }
    stale = {residual_operation(e) for e in proof.stale_exceptions(all_roles())}
    assert stale == RESIDUAL  # Contributor's trigger and pipeline writes are not the named role's
    # The workspace identity is still reached, through the Credential User role.
    assert "synapse-workspace-identity" in proof.reach(all_roles())


def test_the_workspace_identity_has_no_forbidden_power(proof):
    """What the student reaches through Synapse Administrator's credential use: the
    workspace identity (AML_FOR_SYNAPSE, the lake, the SQL pool operator on its pool)
    can do none of the forbidden things, not even the student's residual ones."""
    proof.not_prevented = []
    whose = {who for _, who, _ in proof.excess(all_roles())}
    assert whose == {STUDENT}
    assert proof.granting(
        Need(
            "synapse-rbac",
            "action",
            "Microsoft.Synapse/workspaces/credentials/useSecret/action",
            "synapse-workspace",
        ),
        all_roles(),
    ) == ["Synapse Administrator"]


def test_a_student_reaches_the_synapse_and_compute_identities(proof):
    reached = proof.reach(all_roles())
    assert sorted(reached) == ["ml-compute-identity", "student", "synapse-workspace-identity"]
    # ... and each reached one holds no forbidden power either (checked above); what
    # each holds is what the program grants it (test at the end of this file).
    assert {g.role for g in reached["synapse-workspace-identity"]} == {
        roles.AML_FOR_SYNAPSE.role_name,
        "Storage Blob Data Contributor",
        OPERATOR,
    }


def test_without_credential_use_the_synapse_identity_is_out_of_reach(proof):
    proof.grants = [g for g in proof.grants if g.role != "Synapse Administrator"]
    reached = proof.reach(all_roles())
    assert "synapse-workspace-identity" not in reached
    # The compute identity is still reached, through the student's own jobs.
    assert "ml-compute-identity" in reached
    # ... and the steps in Synapse are lost, the wizard among them, which the proof says.
    lost = {n.operation for _, n in proof.uncovered(all_roles())}
    assert "Microsoft.Synapse/workspaces/credentials/useSecret/action" in lost
    assert "dedicated SQL pools" in lost
    assert "Microsoft.Synapse/workspaces/bigDataPools/useCompute/action" in lost


def test_contributor_for_the_synapse_identity_breaks_the_proof_through_reach(proof):
    """What the lab's manual step grants (Contributor on the Azure ML workspace): the
    student holds none of it, but acts as the identity that does."""
    (synapse,) = [i for i in proof.identities if i.name == "synapse-workspace-identity"]
    contributor = Identity(
        synapse.name, synapse.reached_by, (Grant("Contributor", "ml-workspace"),)
    )
    proof.identities = [contributor if i is synapse else i for i in proof.identities]
    excess = {(n.operation.rsplit("/", 2)[-2], who) for n, who, _ in proof.excess(all_roles())}
    assert ("computes", "synapse-workspace-identity") in excess
    assert ("onlineEndpoints", "synapse-workspace-identity") in excess
    assert ("workspaces", "synapse-workspace-identity") in excess  # listKeys/action
    assert not any(who == STUDENT for _, who in excess)


def test_a_cluster_identity_with_contributor_is_reached_through_a_job(proof):
    (compute,) = [i for i in proof.identities if i.name == "ml-compute-identity"]
    proof.identities = [
        Identity(compute.name, compute.reached_by, (Grant("Contributor", "resource-group"),))
        if i is compute
        else i
        for i in proof.identities
    ]
    excess = {(n.operation, who) for n, who, _ in proof.excess(all_roles())}
    assert ("Microsoft.Compute/virtualMachines/write", "ml-compute-identity") in excess
    assert ("Microsoft.Resources/deployments/write", "ml-compute-identity") in excess
    assert ("Microsoft.Synapse/workspaces/sqlPools/write", "ml-compute-identity") in excess


def test_an_identity_reached_through_another_counts(proof):
    """The Synapse identity can submit Azure ML jobs (its custom role has jobs/*), so a
    student without jobs/write of their own still reaches the cluster's identity."""
    proof.grants = [g for g in proof.grants if g.role != roles.AML_STUDENT.role_name]
    assert "ml-compute-identity" in proof.reach(all_roles())


@pytest.mark.parametrize(
    ("old_role", "scope", "forbidden"),
    [
        (
            "AzureML Data Scientist",
            "ml-workspace",
            {
                "Microsoft.MachineLearningServices/workspaces/computes/write",
                "Microsoft.MachineLearningServices/workspaces/computes/delete",
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/write",
                "Microsoft.MachineLearningServices/workspaces/onlineEndpoints/deployments/write",
                "Microsoft.MachineLearningServices/workspaces/batchEndpoints/write",
                "Microsoft.MachineLearningServices/workspaces/batchEndpoints/deployments/write",
            },
        ),
    ],
)
def test_the_roles_of_before_break_the_proof(proof, old_role, scope, forbidden):
    """The student's roles before issue 26, each put back, fail the proof by name."""
    proof.grants = [*proof.grants, Grant(old_role, scope)]
    excess = {n.operation for n, who, by in proof.excess(all_roles()) if by == [old_role]}
    assert excess == forbidden


def test_each_forbidden_operation_the_issue_names_is_checked(proof):
    forbidden = {(f.system, f.operation) for f in proof.forbidden}
    ml = "Microsoft.MachineLearningServices/workspaces"
    for operation in (
        f"{ml}/computes/write",
        f"{ml}/onlineEndpoints/write",
        f"{ml}/onlineEndpoints/deployments/write",
        f"{ml}/batchEndpoints/write",
        f"{ml}/batchEndpoints/deployments/write",
        f"{ml}/listKeys/action",
        f"{ml}/write",
        "Microsoft.Synapse/workspaces/bigDataPools/write",
        "Microsoft.Synapse/workspaces/sqlPools/write",
        "Microsoft.Synapse/workspaces/write",
        "Microsoft.Resources/deployments/write",
        "Microsoft.Authorization/roleAssignments/write",
        "Microsoft.Authorization/roleDefinitions/write",
    ):
        assert ("azure-rbac", operation) in forbidden, operation
    assert ("synapse-rbac", "Microsoft.Synapse/workspaces/roleAssignments/write") in forbidden


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
    uncovered = proof.uncovered(all_roles(without_pause))
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
    excess = proof.excess(all_roles(scaling))
    # The student holds it on their pool, and so does the workspace identity they reach.
    assert [(n.operation, n.scope, who, by) for n, who, by in excess] == [
        ("Microsoft.Synapse/workspaces/sqlPools/write", "sql-pool", STUDENT, [OPERATOR]),
        ("Microsoft.Synapse/workspaces/sqlPools/delete", "sql-pool", STUDENT, [OPERATOR]),
        (
            "Microsoft.Synapse/workspaces/sqlPools/write",
            "sql-pool",
            "synapse-workspace-identity",
            [OPERATOR],
        ),
        (
            "Microsoft.Synapse/workspaces/sqlPools/delete",
            "sql-pool",
            "synapse-workspace-identity",
            [OPERATOR],
        ),
    ]


def test_removing_a_needed_action_from_a_built_in_role_breaks_the_proof(proof):
    definitions = json.loads(json.dumps(BUILT_IN))
    definitions["Storage Blob Data Contributor"]["dataActions"].remove(
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action"
    )
    uncovered = proof.uncovered(all_roles(definitions=definitions))
    assert [n.operation.rsplit("/", 2)[-2:] for _, n in uncovered] == [["move", "action"]]


@pytest.mark.parametrize("role", ["Contributor", "Owner"])
def test_contributor_or_owner_on_the_resource_group_breaks_the_proof(proof, role):
    proof.grants = [
        Grant(role, "resource-group") if g.role == "Reader" else g for g in proof.grants
    ]
    excess = {n.operation for n, _, by in proof.excess(all_roles()) if role in by}
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
    assert [by for _, _, by in proof.excess(all_roles())] == [["Owner"]]


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
    assert proof.granting(create, all_roles(scaling)) == []


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
        "Synapse Credential User": roles.SYNAPSE_CREDENTIAL_USER,
        "Storage Blob Data Reader": roles.STORAGE_BLOB_DATA_READER,
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
    """The student's grants and each identity's, as the program declares them."""
    from tests.conftest import BASE_CONFIG

    student = "0a1b2c3d-0000-4000-8000-000000000042"
    sim = run_program({**BASE_CONFIG, "lab:students": [{"id": "kim", "objectId": student}]})
    names = {**roles.ROLE_NAMES}
    for definition in sim.of_type("azure-native:authorization:RoleDefinition"):
        (custom,) = [c for c in roles.CUSTOM_ROLES if definition.name.startswith(c.key + "-")]
        names[definition.inputs["roleDefinitionId"]] = custom.role_name
    assignments = sim.of_type("azure-native:authorization:RoleAssignment")

    def held_by(principal):
        return sorted(
            (names[r.inputs["roleDefinitionId"].rsplit("/", 1)[1]], scope_kind(r.inputs["scope"]))
            for r in assignments
            if r.inputs["principalId"] == principal
        )

    declared = held_by(student)
    (synapse,) = sim.of_type("pulumi-python:dynamic/synapse-ml-lab:SynapseRoleAssignments")
    synapse_names = {roles.SYNAPSE_ADMINISTRATOR: "Synapse Administrator"}
    for item in synapse.inputs["assignments"]:
        assert item["principalId"] == student and item["principalType"] == "User"
        declared.append((synapse_names[item["roleId"]], "synapse-workspace"))
    assert sorted(declared) == sorted((g.role, g.scope) for g in proof.grants)
    # The identities a student reaches hold what the proof says they hold.
    (workspace,) = sim.of_type("azure-native:synapse:Workspace")
    (compute,) = sim.of_type("azure-native:machinelearningservices:Compute")
    principals = {
        "synapse-workspace-identity": workspace.outputs["identity"]["principalId"],
        "ml-compute-identity": compute.outputs["identity"]["principalId"],
    }
    assert sorted(principals) == sorted(i.name for i in proof.identities)
    for identity in proof.identities:
        assert held_by(principals[identity.name]) == sorted(
            (g.role, g.scope) for g in identity.grants
        ), identity.name
