"""The student's access as Azure decides it: through groups, inherited from above, or by a stronger role.

Against the fake Azure, whose role assignment list follows the REST docs' `$filter`
semantics (tests/fakes/azure.py, FakeAzure._role_filter), with the real SDK clients.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import uuid

import pytest

from classroom.checking import access, checks
from lab.roles import (
    AML_STUDENT,
    AZUREML_DATA_SCIENTIST,
    CONTRIBUTOR,
    OWNER,
    READER,
    SQL_POOL_OPERATOR,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    STORAGE_BLOB_DATA_OWNER,
    SYNAPSE_ADMINISTRATOR,
    SYNAPSE_CONTRIBUTOR,
    SYNAPSE_CREDENTIAL_USER,
    custom_role_guid,
)
from tests.conftest import ROOT

from .azure_fixtures import add, check, object_id, synapse_id

SUBSCRIPTION = "/subscriptions/11111111-1111-1111-1111-111111111111"


def _strip(azure, student: str) -> None:
    """Take away every role assignment the program gave the student (ARM and Synapse)."""
    oid = object_id(student)
    azure.arm_roles = [r for r in azure.arm_roles if r["principalId"] != oid]
    azure.synapse_roles = [r for r in azure.synapse_roles if r["principalId"] != oid]


def _group(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"group/{name}"))


def _operator(env) -> str:
    return custom_role_guid(SQL_POOL_OPERATOR, "dev", env.subscription)


def _ml_id(env) -> str:
    return (
        f"{env.resource_group_id}/providers/Microsoft.MachineLearningServices/"
        f"workspaces/{env.aml_workspace}"
    )


def _pool_id(env) -> str:
    return f"{env.synapse_workspace_id}/sqlPools/{env.sql_pool}"


def _grant_lab_roles(azure, env, control: str, data: str) -> None:
    """The ARM roles the program grants a student, to the groups ``control`` and ``data``."""
    azure.grant(env.resource_group_id, READER, control, "Group")
    azure.grant(
        _ml_id(env), custom_role_guid(AML_STUDENT, "dev", env.subscription), control, "Group"
    )
    azure.grant(_pool_id(env), _operator(env), data, "Group")
    azure.grant(env.data_lake_id, STORAGE_BLOB_DATA_CONTRIBUTOR, data, "Group")


def test_access_through_a_nested_group_is_ready_and_says_so(azure):
    ann = add(azure, "ann")
    _strip(azure, "ann")
    team, course = _group("team-a"), _group("dp-100")
    azure.add_member(team, object_id("ann"))  # ann is in team-a, team-a is in dp-100
    azure.add_member(course, team)
    _grant_lab_roles(azure, ann, control=course, data=team)
    azure.synapse_roles.append(
        {
            "workspace": ann.synapse_workspace,
            "roleId": SYNAPSE_ADMINISTRATOR,
            "principalId": course,
            "principalType": "Group",
        }
    )
    result = check(azure, [ann])["ann"]
    assert result.state == checks.READY, result.findings
    assert result.notes == [
        f"Reader on resource group '{ann.resource_group}' through group {course}: "
        "can see the lab's resources in Studio and the portal",
        f"the Azure ML student role on Azure ML workspace '{ann.aml_workspace}' through group "
        f"{course}: can run AutoML jobs and register models",
        f"the SQL pool operator role on dedicated SQL pool '{ann.sql_pool}' through group "
        f"{team}: can resume and pause their SQL pool",
        f"Storage Blob Data Contributor on data lake '{ann.data_lake}' through group {team}: "
        "can read and write the lab's files",
        f"Synapse Administrator on Synapse workspace '{ann.synapse_workspace}' through group "
        f"{course}: can run notebooks, the AzureML linked service and the SQL scripts on the dedicated pool",
    ]


def test_owner_inherited_from_the_subscription_is_ready_with_a_warning(azure):
    ben = add(azure, "ben")
    azure.arm_roles = [
        r
        for r in azure.arm_roles
        if not (r["principalId"] == object_id("ben") and r["roleDefinitionId"] == READER)
    ]
    azure.grant(SUBSCRIPTION, OWNER, object_id("ben"))
    result = check(azure, [ben])["ben"]
    assert result.ready and result.state == checks.WARNING, result.findings
    owner = f"Owner on subscription '{SUBSCRIPTION.rsplit('/', 1)[-1]}' (inherited)"
    remove = (
        f"; remove it with `az role assignment delete --assignee {object_id('ben')} --role Owner "
        f"--scope {SUBSCRIPTION}`"
    )
    # Owner satisfies each control-plane access of the lab, each with more than it needs.
    assert result.warnings == [
        f"the student has more access than the lab grants ({granted}): {owner}. Least privilege: "
        f"remove what the lab does not need unless it is meant{remove}"
        for granted in (
            f"Reader on resource group '{ben.resource_group}'",
            f"the Azure ML student role on Azure ML workspace '{ben.aml_workspace}'",
            f"the SQL pool operator role on dedicated SQL pool '{ben.sql_pool}'",
        )
    ]
    # Owner gives no blob data access: the lake's data role still counts on its own.
    assert any("Storage Blob Data Contributor on data lake" in n for n in result.notes)


def test_a_stronger_data_role_is_a_warning_and_owner_is_no_data_role(azure):
    cy = add(azure, "cy")
    oid = object_id("cy")
    azure.arm_roles = [
        r
        for r in azure.arm_roles
        if not (r["principalId"] == oid and r["roleDefinitionId"] == STORAGE_BLOB_DATA_CONTRIBUTOR)
    ]
    azure.grant(cy.resource_group_id, OWNER, oid)  # control plane only: no blob data
    assert check(azure, [cy])["cy"].problems == [
        f"the student lacks Storage Blob Data Contributor on data lake '{cy.data_lake}' "
        "(needed to read and write the lab's files): "
        "run `python -m classroom repair --stack dev --student cy` "
        "(refresh, then up: it puts back what is missing)"
    ]
    azure.grant(cy.resource_group_id, STORAGE_BLOB_DATA_OWNER, oid)
    result = check(azure, [cy])["cy"]
    assert result.ready and any(
        f"Storage Blob Data Owner on resource group '{cy.resource_group}' (inherited)" in w
        for w in result.warnings
    )


def test_a_student_without_access_is_not_ready(azure):
    dan = add(azure, "dan")
    _strip(azure, "dan")
    # Someone else's assignment, and one of dan's below the scope: neither counts.
    azure.grant(dan.resource_group_id, CONTRIBUTOR, object_id("someone-else"))
    azure.grant(
        f"{dan.data_lake_id}/blobServices/default/containers/files", OWNER, object_id("dan")
    )
    result = check(azure, [dan])["dan"]
    assert result.state == checks.NOT_READY
    assert [p.split(" (needed")[0] for p in result.problems] == [
        f"the student lacks Reader on resource group '{dan.resource_group}'",
        f"the student lacks the Azure ML student role on Azure ML workspace '{dan.aml_workspace}'",
        f"the student lacks the SQL pool operator role on dedicated SQL pool '{dan.sql_pool}'",
        f"the student lacks Storage Blob Data Contributor on data lake '{dan.data_lake}'",
        f"the student lacks Synapse Administrator on Synapse workspace '{dan.synapse_workspace}'",
    ]


def test_a_group_student_is_listed_without_assigned_to(azure):
    """assignedTo() takes no group id (REST docs): a roster entry that is a group uses atScope()."""
    env = add(azure, "grp", with_object_id=False)
    gid = _group("grp")
    azure.add_member(gid, object_id("member"))
    _grant_lab_roles(azure, env, control=gid, data=gid)
    azure.synapse_roles.append(
        {"workspace": env.synapse_workspace, "roleId": SYNAPSE_ADMINISTRATOR, "principalId": gid}
    )
    as_group = checks.Environment(**{**env.__dict__, "object_id": gid, "principal_type": "Group"})
    result = check(azure, [as_group])["grp"]
    assert result.state == checks.READY, result.findings
    assert result.notes[0] == (
        f"Reader on resource group '{env.resource_group}': "
        "can see the lab's resources in Studio and the portal"
    )
    filters = {r.query.get("$filter") for r in azure.requests if "roleAssignments" in r.path}
    assert "atScope()" in filters and not any("assignedTo" in (f or "") for f in filters)


def test_the_fake_follows_the_documented_filter_semantics(azure):
    """principalId eq leaves out groups; atScope() leaves out what is below; refused combinations."""
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.authorization import AuthorizationManagementClient

    from tests.fakes.azure import AzureCredential

    eve = add(azure, "eve")
    oid, team = object_id("eve"), _group("eve-team")
    azure.add_member(team, oid)
    azure.grant(eve.resource_group_id, OWNER, team, "Group")
    azure.grant(f"{eve.data_lake_id}/blobServices/default", STORAGE_BLOB_DATA_OWNER, oid)
    client = AuthorizationManagementClient(
        AzureCredential(), "11111111-1111-1111-1111-111111111111", base_url=azure.url
    )

    def roles(scope: str, query: str) -> set[tuple[str, str]]:
        listed = client.role_assignments.list_for_scope(scope, filter=query)
        return {(a.principal_id, a.role_definition_id.rsplit("/", 1)[-1]) for a in listed}

    lake = eve.data_lake_id
    assert roles(lake, f"principalId eq '{oid}'") == {
        (oid, READER),  # on the resource group, above the lake
        (oid, STORAGE_BLOB_DATA_CONTRIBUTOR),
        (oid, STORAGE_BLOB_DATA_OWNER),  # below the scope: principalId eq includes it
    }
    assert roles(lake, f"atScope() and assignedTo('{oid}')") == {
        (oid, READER),
        (oid, STORAGE_BLOB_DATA_CONTRIBUTOR),
        (team, OWNER),  # through the group; the one below the scope is left out
    }
    for refused in (
        f"atScope() and principalId eq '{oid}'",
        f"assignedTo('{team}')",
        "roleId eq 'x'",
    ):
        with pytest.raises(HttpResponseError) as error:
            roles(lake, refused)
        assert error.value.status_code == 400
    client.close()


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (
            "Failed",
            "is Failed (its provisioning failed): "
            "run `python -m classroom repair --stack dev --student fay`",
        ),
        (
            "Deleting",
            "is Deleting: once it is gone, run `python -m classroom repair --stack dev --student fay`",
        ),
    ],
)
def test_a_failed_pool_that_reports_paused_is_not_ready(azure, state, words):
    fay = add(azure, "fay")
    pool = azure.get(synapse_id(fay, "sqlPools", fay.sql_pool))["properties"]
    pool["provisioningState"], pool["status"] = state, "Paused"
    result = check(azure, [fay])["fay"]
    assert result.state == checks.NOT_READY
    assert result.problems == [
        f"dedicated SQL pool '{fay.sql_pool}' {words}" + result.problems[0].split(words)[1]
    ]
    assert result.sql_pool_status is None  # its status is not taken for the pool's state


def test_a_failed_data_lake_account_is_a_problem_before_its_files_are_read(azure):
    ivy = add(azure, "ivy")
    azure.get(ivy.data_lake_id)["properties"]["provisioningState"] = "Failed"
    result = check(azure, [ivy])["ivy"]
    assert result.problems == [
        f"data lake '{ivy.data_lake}' is Failed (its provisioning failed): run "
        "`python -m classroom repair --stack dev --student ivy` (refresh, then up: it puts back "
        "what is missing); if it stays Failed, delete it in the portal and run that again"
    ]
    assert not any(r.path.startswith(f"/{ivy.data_lake}/") for r in azure.requests)


def test_a_deleting_resource_group_is_a_problem(azure):
    gus = add(azure, "gus")
    azure.get(gus.resource_group_id)["properties"]["provisioningState"] = "Deleting"
    result = check(azure, [gus])["gus"]
    assert result.problems[0].startswith(f"resource group '{gus.resource_group}' is Deleting")


def test_reads_use_the_programs_api_versions(azure):
    from lab import api_versions

    hal = add(azure, "hal")
    check(azure, [hal])
    versions = {
        r.path.split("/providers/")[1].split("/")[0]: r.query["api-version"]
        for r in azure.requests
        if "/providers/" in r.path and not r.path.endswith("/roleAssignments")
    }
    assert versions == {
        "Microsoft.Synapse": api_versions.SYNAPSE,
        "Microsoft.MachineLearningServices": api_versions.MACHINE_LEARNING,
        "Microsoft.Storage": api_versions.STORAGE,
    }
    assert api_versions.SYNAPSE == "2021-06-01" and api_versions.MACHINE_LEARNING == "2025-06-01"


# ----------------------------------------------------------------------------- the table, alone


def test_the_table_names_the_granted_role_first_and_only_stronger_ones_after():
    env = checks.Environment(
        student="x",
        subscription="s",
        resource_group="rg",
        synapse_workspace="ws",
        synapse_studio_url="",
        spark_pool="spark",
        sql_pool="pool",
        data_lake="lake",
        aml_workspace="aml",
        aml_studio_url="",
        stack="dev",
    )
    operator = custom_role_guid(SQL_POOL_OPERATOR, "dev", "s")
    aml_student = custom_role_guid(AML_STUDENT, "dev", "s")
    # Each granted role, and the roles whose actions include all of its own (AzureML
    # Data Scientist: what stacks granted before issue 26). Synapse Administrator is the
    # one Synapse role with access to the dedicated SQL pool: nothing smaller will do.
    strength = {
        READER: {CONTRIBUTOR, OWNER},
        aml_student: {AZUREML_DATA_SCIENTIST, CONTRIBUTOR, OWNER},
        operator: {CONTRIBUTOR, OWNER},
        STORAGE_BLOB_DATA_CONTRIBUTOR: {STORAGE_BLOB_DATA_OWNER},
        SYNAPSE_ADMINISTRATOR: set(),
    }
    granted = [need.granted_for(env) for need in access.NEEDS]
    assert granted == [
        READER,
        aml_student,
        operator,
        STORAGE_BLOB_DATA_CONTRIBUTOR,
        SYNAPSE_ADMINISTRATOR,
    ]
    for need in access.NEEDS:
        roles = need.roles_for(env)
        assert set(roles[1:]) <= strength[roles[0]], need.what
        assert CONTRIBUTOR not in roles[:1] and OWNER not in roles[:1], need.what


def test_covers_is_the_scope_or_above():
    rg = "/subscriptions/s/resourceGroups/rg"
    assert access.covers(rg, rg + "/providers/Microsoft.Storage/storageAccounts/lake")
    assert access.covers("/subscriptions/s", rg)
    assert access.covers("/providers/Microsoft.Management/managementGroups/mg", rg)
    assert not access.covers(rg + "/providers/x/y/z", rg)  # below
    assert not access.covers("/subscriptions/s/resourceGroups/rg2", rg)  # a sibling
    assert not access.covers("/subscriptions/s/resourceGroups/r", rg)  # a prefix is not a parent


# ----------------------------------------------------------------------------- the dropped SDKs

DROPPED = ("azure.mgmt.synapse", "azure.mgmt.machinelearningservices", "six")


def test_the_dropped_sdks_are_neither_required_nor_imported():
    required = (ROOT / "requirements.txt").read_text().lower()
    for name in ("azure-mgmt-synapse", "azure-mgmt-machinelearningservices", "six"):
        assert not any(
            line.split("#")[0].strip().startswith(name) for line in required.splitlines()
        ), name
    for folder in ("classroom", "providers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                assert not any(n == d or n.startswith(d + ".") for n in names for d in DROPPED), (
                    path
                )
    # And at run time: checking a student, and every provider module, loads none of them.
    code = (
        "import sys, classroom.__main__, classroom.checking.status, classroom.checking.checks, "
        "providers.synapse.artifacts, providers.synapse.linked_service, providers.synapse.rbac, "
        "providers.synapse.sql_pool, providers.arm.purges\n"
        # The SDKs the check imports when it runs (lazily, inside its methods).
        "import azure.mgmt.resource.resources, azure.mgmt.authorization, "
        "azure.synapse.accesscontrol, azure.synapse.artifacts, azure.storage.filedatalake\n"
        f"print(sorted(m for m in sys.modules if m.startswith({DROPPED!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_synapse_contributor_and_credential_user_are_not_enough(azure):
    """Without Synapse Administrator the part 2 SQL scripts have no access to the dedicated
    pool (only it has "Full Synapse access to ... dedicated SQL pools"): Synapse
    Contributor and Credential User, which include everything else, leave the student
    not ready, and the check names the role to grant."""
    dan = add(azure, "dan")
    oid = object_id("dan")
    azure.synapse_roles = [r for r in azure.synapse_roles if r["principalId"] != oid]
    azure.synapse_roles += [
        {"workspace": dan.synapse_workspace, "roleId": role, "principalId": oid}
        for role in (SYNAPSE_CONTRIBUTOR, SYNAPSE_CREDENTIAL_USER)
    ]
    result = check(azure, [dan])["dan"]
    assert result.state == checks.NOT_READY, result.findings
    assert [p.split(" (needed")[0] for p in result.problems] == [
        f"the student lacks Synapse Administrator on Synapse workspace '{dan.synapse_workspace}'"
    ]
    assert "the SQL scripts on the dedicated pool" in result.problems[0]


def test_without_a_stack_the_azure_ml_need_names_the_built_in_role():
    """An environment read without its stack cannot name the stack's custom role: the
    check then expects AzureML Data Scientist and says so by that name."""
    env = checks.Environment(
        student="x",
        subscription="s",
        resource_group="rg",
        synapse_workspace="ws",
        synapse_studio_url="",
        spark_pool="spark",
        sql_pool="pool",
        data_lake="lake",
        aml_workspace="aml",
        aml_studio_url="",
        stack="",
    )
    (need,) = [n for n in access.NEEDS if n.what == "run AutoML jobs and register models"]
    assert need.granted_for(env) == AZUREML_DATA_SCIENTIST
    verdict = access.judge(need, env, object_id("x"), [])
    assert verdict.sentence.startswith(
        "the student lacks AzureML Data Scientist on Azure ML workspace 'aml'"
    )
    # With its stack, the custom role by its name.
    with_stack = checks.Environment(**{**env.__dict__, "stack": "dev"})
    assert access.judge(need, with_stack, object_id("x"), []).sentence.startswith(
        "the student lacks the Azure ML student role on Azure ML workspace 'aml'"
    )
