"""The real program under Pulumi's mocks: each fact of the lab environment, asserted on real values."""

from __future__ import annotations

import pulumi
import pytest

from classroom.planning.simulate import (
    FAKE_DEPLOYER,
    FAKE_SUBSCRIPTION,
    FAKE_TENANT,
    fake_principal_id,
    run_program,
)
from lab import roles
from lab.naming import SUFFIX_RE, LabNames

STUDENTS = [
    {"id": "alice", "objectId": "0a1b2c3d-0000-4000-8000-000000000001"},
    {"id": "bob"},
]
T = "azure-native:"


@pytest.fixture(scope="module")
def sim():
    from tests.conftest import BASE_CONFIG

    return run_program({**BASE_CONFIG, "lab:students": STUDENTS})


def env_resources(sim, student):
    env = sim.one("synapse-ml-lab:lab:LabEnvironment", student)
    assert env.name == student
    return env, sim.descendants_of(env)


def only(resources, typ, name_contains=""):
    found = [r for r in resources if r.type == typ and name_contains in r.name]
    assert len(found) == 1, (typ, name_contains, [r.name for r in found])
    return found[0]


def suffix_of(sim, student):
    return sim.one("random:index/randomString:RandomString", f"{student}-suffix").outputs["result"]


def test_suffix_is_seven_lowercase_alnum_and_differs_per_student(sim):
    suffix = sim.one("random:index/randomString:RandomString", "alice-suffix")
    assert suffix.inputs["length"] == 7
    assert suffix.inputs["upper"] is False and suffix.inputs["special"] is False
    assert suffix.inputs["lower"] is True and suffix.inputs["numeric"] is True
    assert SUFFIX_RE.fullmatch(suffix_of(sim, "alice"))
    assert suffix_of(sim, "alice") != suffix_of(sim, "bob")


def test_one_resource_group_per_student_named_prefix_suffix(sim):
    groups = sim.of_type(f"{T}resources:ResourceGroup")
    assert sorted(g.inputs["resourceGroupName"] for g in groups) == sorted(
        f"dp000-{suffix_of(sim, s)}" for s in ("alice", "bob")
    )
    for student in ("alice", "bob"):
        env, children = env_resources(sim, student)
        rg = only(children, f"{T}resources:ResourceGroup")
        assert rg.inputs["location"] == "westeurope"
        rg_name = rg.inputs["resourceGroupName"]
        # every Azure resource of the student lives in that group
        for r in children:
            if "resourceGroupName" in r.inputs and r.type != f"{T}resources:ResourceGroup":
                assert r.inputs["resourceGroupName"] == rg_name, r.name


def test_data_lake_properties_and_uploads(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    lake = only(children, f"{T}storage:StorageAccount", "lake")
    assert lake.inputs["accountName"] == f"datalake{sfx}"
    assert lake.inputs["kind"] == "StorageV2"
    assert lake.inputs["sku"] == {"name": "Standard_LRS"}
    assert lake.inputs["accessTier"] == "Hot"
    assert lake.inputs["isHnsEnabled"] is True
    assert lake.inputs["enableHttpsTrafficOnly"] is True
    assert lake.inputs["minimumTlsVersion"] == "TLS1_2"
    assert lake.inputs["allowBlobPublicAccess"] is False
    container = only(children, f"{T}storage:BlobContainer")
    assert container.inputs["containerName"] == "files"
    assert container.inputs["accountName"] == f"datalake{sfx}"
    blobs = sorted(r.inputs["blobName"] for r in children if r.type == f"{T}storage:Blob")
    assert blobs == ["data/bike-rentals-training.csv", "data/weather-forecast.csv"]
    for blob in (r for r in children if r.type == f"{T}storage:Blob"):
        assert blob.inputs["containerName"] == "files"
        assert blob.inputs["contentType"] == "text/csv"
        # By default the lab's public files, pinned to the lab's commit.
        assert isinstance(blob.inputs["source"], pulumi.RemoteAsset)
        assert blob.inputs["source"].uri == (
            "https://raw.githubusercontent.com/MicrosoftLearning/mslearn-synapse/"
            "424ce70c96416c6cbc6b3573d1e99b1e607340f7/Allfiles/Labs/12/files/"
            + blob.inputs["blobName"].removeprefix("data/")
        )


def test_synapse_workspace_uses_the_data_lake_outputs(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    lake = only(children, f"{T}storage:StorageAccount", "lake")
    ws = only(children, f"{T}synapse:Workspace")
    assert ws.inputs["workspaceName"] == f"synapse{sfx}"
    assert ws.inputs["identity"] == {"type": "SystemAssigned"}
    storage = ws.inputs["defaultDataLakeStorage"]
    # The URL comes from the account's own endpoints (mock: the account's dfs endpoint).
    assert storage["accountUrl"] == lake.outputs["primaryEndpoints"]["dfs"].rstrip("/")
    assert storage["accountUrl"] == f"https://datalake{sfx}.dfs.core.windows.net"
    assert storage["filesystem"] == "files"
    assert storage["resourceId"] == lake.outputs["id"]
    # ...and so the engine orders the workspace after the account and container.
    assert lake.urn in ws.dependencies
    assert lake.urn in ws.property_dependencies["defaultDataLakeStorage"]
    container = only(children, f"{T}storage:BlobContainer")
    assert container.urn in ws.property_dependencies["defaultDataLakeStorage"]
    assert ws.inputs["sqlAdministratorLogin"] == "SQLUser"
    assert ws.inputs["managedResourceGroupName"] == f"dp000-{sfx}-synapse-managed"


def test_no_sql_password_anywhere_and_entra_only(sim):
    """No SQL password exists: every workspace accepts Microsoft Entra sign-in only, its
    Entra admin is the deployer (no lab:instructors here), and nothing exports a login."""
    assert sim.of_type("random:index/randomPassword:RandomPassword") == []
    for ws in sim.of_type(f"{T}synapse:Workspace"):
        assert ws.inputs["azureADOnlyAuthentication"] is True
        assert "sqlAdministratorLoginPassword" not in ws.inputs
        # The login of before, kept so existing workspaces are updated, not replaced.
        assert ws.inputs["sqlAdministratorLogin"] == "SQLUser"
        (admin,) = [
            a for a in sim.of_type(f"{T}synapse:WorkspaceAadAdmin") if a.parent == ws.parent
        ]
        assert admin.inputs["workspaceName"] == ws.inputs["workspaceName"]
        assert admin.inputs["administratorType"] == "ActiveDirectory"
        assert admin.inputs["sid"] == FAKE_DEPLOYER
        assert admin.inputs["tenantId"] == FAKE_TENANT
        assert ws.urn in admin.dependencies
    assert sorted(sim.exports) == ["environments"]


def test_an_instructor_group_is_the_entra_admin_of_every_workspace(base_config):
    group = "7d3c2b1a-0000-4000-8000-00000000abcd"
    sim = run_program({**base_config, "lab:instructors": [group.upper()]})
    admins = sim.of_type(f"{T}synapse:WorkspaceAadAdmin")
    assert len(admins) == len(sim.of_type(f"{T}synapse:Workspace")) >= 1
    assert {a.inputs["sid"] for a in admins} == {group}
    assert {a.inputs["login"] for a in admins} == {"synapse-ml-lab instructors"}


def test_firewall_is_open_by_default_with_a_warning(sim):
    _, children = env_resources(sim, "alice")
    rules = {
        r.inputs["ruleName"]: (r.inputs["startIpAddress"], r.inputs["endIpAddress"])
        for r in children
        if r.type == f"{T}synapse:IpFirewallRule"
    }
    assert rules == {
        "allowAll": ("0.0.0.0", "255.255.255.255"),
        "AllowAllWindowsAzureIps": ("0.0.0.0", "0.0.0.0"),
    }
    assert any("lab:allowedIpRanges is not set" in w for w in sim.warnings)


def test_spark_pool(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    pool = only(children, f"{T}synapse:BigDataPool")
    assert pool.inputs["bigDataPoolName"] == f"spark{sfx}"
    assert pool.inputs["workspaceName"] == f"synapse{sfx}"
    assert pool.inputs["nodeSizeFamily"] == "MemoryOptimized"
    assert pool.inputs["nodeSize"] == "Small"
    assert pool.inputs["autoScale"] == {"enabled": True, "minNodeCount": 3, "maxNodeCount": 4}
    assert pool.inputs["autoPause"] == {"enabled": True, "delayInMinutes": 15}
    assert pool.inputs["sparkVersion"] == "3.5"
    assert pool.inputs["sessionLevelPackagesEnabled"] is True


def test_dedicated_sql_pool(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    pool = only(children, f"{T}synapse:SqlPool")
    assert pool.inputs["sqlPoolName"] == f"sql{sfx}"
    assert pool.inputs["sku"] == {"name": "DW100c"}
    assert pool.inputs["collation"] == "SQL_Latin1_General_CP1_CI_AS"


def test_machine_learning_workspace_and_its_dependencies(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    aml = only(children, f"{T}machinelearningservices:Workspace")
    kv = only(children, f"{T}keyvault:Vault")
    insights = only(children, f"{T}applicationinsights:Component")
    logs = only(children, f"{T}operationalinsights:Workspace")
    store = only(children, f"{T}storage:StorageAccount", "aml")
    assert aml.inputs["workspaceName"] == f"aml{sfx}"
    assert aml.inputs["sku"]["name"] == "Basic"
    assert aml.inputs["identity"] == {"type": "SystemAssigned"}
    assert aml.inputs["keyVault"] == kv.outputs["id"]
    assert aml.inputs["applicationInsights"] == insights.outputs["id"]
    assert aml.inputs["storageAccount"] == store.outputs["id"]
    assert kv.inputs["properties"]["enableRbacAuthorization"] is True
    assert kv.inputs["properties"]["softDeleteRetentionInDays"] == 7
    assert kv.inputs["properties"]["tenantId"] == FAKE_TENANT
    # Purge protection is off: never sent as true (Azure refuses an explicit false).
    assert "enablePurgeProtection" not in kv.inputs["properties"]
    assert insights.inputs["workspaceResourceId"] == logs.outputs["id"]
    assert insights.inputs["ingestionMode"] == "LogAnalytics"
    assert store.inputs["isHnsEnabled"] is False
    assert store.inputs["enableHttpsTrafficOnly"] is True
    assert store.inputs["minimumTlsVersion"] == "TLS1_2"
    assert store.inputs["allowBlobPublicAccess"] is False
    assert LabNames("dp000", sfx).key_vault == kv.inputs["vaultName"]


def test_automl_compute_cluster(sim):
    _, children = env_resources(sim, "alice")
    compute = only(children, f"{T}machinelearningservices:Compute")
    assert compute.inputs["computeName"] == "automl-cluster"
    props = compute.inputs["properties"]
    assert props["computeType"] == "AmlCompute"
    assert props["properties"]["vmSize"] == "Standard_DS3_v2"
    scale = props["properties"]["scaleSettings"]
    assert scale["minNodeCount"] == 0
    assert scale["maxNodeCount"] == 2
    assert scale["nodeIdleTimeBeforeScaleDown"] == "PT5M"


def test_data_lake_datastore_uses_identity_access(sim):
    _, children = env_resources(sim, "alice")
    sfx = suffix_of(sim, "alice")
    store = only(children, f"{T}machinelearningservices:Datastore")
    assert store.inputs["name"] == "datalake"
    props = store.inputs["properties"]
    assert props["datastoreType"] == "AzureDataLakeGen2"
    assert props["accountName"] == f"datalake{sfx}"
    assert props["filesystem"] == "files"
    assert props["credentials"] == {"credentialsType": "None"}
    assert props["serviceDataAccessAuthIdentity"] == "WorkspaceSystemAssignedIdentity"


def _assignments(children):
    return {
        r.name.split("-", 1)[1]: r for r in children if r.type == f"{T}authorization:RoleAssignment"
    }


def test_role_assignments(sim):
    _, children = env_resources(sim, "alice")
    got = _assignments(children)
    synapse = only(children, f"{T}synapse:Workspace")
    aml = only(children, f"{T}machinelearningservices:Workspace")
    compute = only(children, f"{T}machinelearningservices:Compute")
    lake = only(children, f"{T}storage:StorageAccount", "lake")

    def check(key, role, principal, principal_type, scope):
        ra = got[key]
        assert ra.inputs["roleDefinitionId"] == (
            f"/subscriptions/{FAKE_SUBSCRIPTION}/providers/Microsoft.Authorization/roleDefinitions/{role}"
        )
        assert ra.inputs["principalId"] == principal
        assert ra.inputs["principalType"] == principal_type
        assert ra.inputs["scope"] == scope
        assert ra.inputs["roleAssignmentName"] == roles.assignment_guid(scope, role, principal)

    # The lab's manual IAM step, narrowed: the Synapse identity holds the custom
    # "Azure ML for Synapse" role on the AML workspace (the lab says Contributor).
    check(
        "access-synapse-ml-linked-service",
        roles.custom_role_guid(roles.AML_FOR_SYNAPSE, "dev", FAKE_SUBSCRIPTION),
        synapse.outputs["identity"]["principalId"],
        "ServicePrincipal",
        aml.outputs["id"],
    )
    assert synapse.outputs["identity"]["principalId"] == fake_principal_id(synapse.name)
    check(
        "synapse-lake-contributor",
        roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        synapse.outputs["identity"]["principalId"],
        "ServicePrincipal",
        lake.outputs["id"],
    )
    check(
        "aml-workspace-lake-reader",
        roles.STORAGE_BLOB_DATA_READER,
        aml.outputs["identity"]["principalId"],
        "ServicePrincipal",
        lake.outputs["id"],
    )
    check(
        "aml-compute-lake-reader",
        roles.STORAGE_BLOB_DATA_READER,
        compute.outputs["identity"]["principalId"],
        "ServicePrincipal",
        lake.outputs["id"],
    )
    check(
        "access-deployer-lake-owner",
        roles.STORAGE_BLOB_DATA_OWNER,
        FAKE_DEPLOYER,
        "User",
        lake.outputs["id"],
    )
    # alice has an objectId: what the lab needs, on her own resources only
    rg = only(children, f"{T}resources:ResourceGroup")
    pool = only(children, f"{T}synapse:SqlPool")
    check(
        "access-student-rg-reader",
        roles.READER,
        STUDENTS[0]["objectId"],
        "User",
        rg.outputs["id"],
    )
    check(
        "access-student-aml-lab-user",
        roles.custom_role_guid(roles.AML_STUDENT, "dev", FAKE_SUBSCRIPTION),
        STUDENTS[0]["objectId"],
        "User",
        aml.outputs["id"],
    )
    check(
        "access-student-lake-contributor",
        roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
        STUDENTS[0]["objectId"],
        "User",
        lake.outputs["id"],
    )
    operator = roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "dev", FAKE_SUBSCRIPTION)
    check(
        "access-student-sql-pool-operator",
        operator,
        STUDENTS[0]["objectId"],
        "User",
        pool.outputs["id"],
    )
    # The custom role's assignment waits for the definition (its GUID is its output).
    definition = sim.one(f"{T}authorization:RoleDefinition", "sql-pool-operator")
    assert definition.urn in got["access-student-sql-pool-operator"].dependencies
    assert definition.inputs["roleDefinitionId"] == operator
    # The cost guard: the Synapse identity may read and pause its own pool, nothing more.
    pauses = got["studio-synapse-pauses-sql"]
    assert pauses.inputs["principalId"] == synapse.outputs["identity"]["principalId"]
    assert pauses.inputs["principalType"] == "ServicePrincipal"
    assert pauses.inputs["scope"] == pool.outputs["id"]
    assert pauses.inputs["roleDefinitionId"].endswith(
        "/roleDefinitions/"
        + roles.custom_role_guid(roles.SQL_POOL_OPERATOR, "dev", FAKE_SUBSCRIPTION)
    )
    assert len(got) == 10
    # bob has none: no student role for him
    _, bob_children = env_resources(sim, "bob")
    assert sorted(_assignments(bob_children)) == [
        "access-deployer-lake-owner",
        "access-synapse-ml-linked-service",
        "aml-compute-lake-reader",
        "aml-workspace-lake-reader",
        "studio-synapse-pauses-sql",
        "synapse-lake-contributor",
    ]


def test_no_owner_and_no_subscription_scope_anywhere(sim):
    for ra in sim.of_type(f"{T}authorization:RoleAssignment"):
        assert not ra.inputs["roleDefinitionId"].endswith(roles.OWNER)
        assert ra.inputs["scope"].count("/") > 2, ra.inputs["scope"]
        assert "/resourceGroups/" in ra.inputs["scope"]


TAGGABLE = {
    "resources:ResourceGroup",
    "storage:StorageAccount",
    "synapse:Workspace",
    "synapse:BigDataPool",
    "synapse:SqlPool",
    "machinelearningservices:Workspace",
    "machinelearningservices:Compute",
    "keyvault:Vault",
    "applicationinsights:Component",
    "operationalinsights:Workspace",
}


def test_every_taggable_resource_carries_the_tags(sim):
    for student in ("alice", "bob"):
        _, children = env_resources(sim, student)
        sfx = suffix_of(sim, student)
        tagged = [r for r in children if r.type.removeprefix(T) in TAGGABLE]
        assert (
            len(tagged) == 11
        )  # RG, 2 storage, synapse, spark, sql, aml, compute, kv, insights, logs
        for r in tagged:
            assert r.inputs["tags"] == {
                "course": "dp-100 autumn",
                "student": student,
                "expires-on": "2026-12-20",
                "DeploymentId": sfx,
            }, r.name


def test_every_azure_name_is_valid(sim):
    for student in ("alice", "bob"):
        LabNames("dp000", suffix_of(sim, student)).validate()
        _, children = env_resources(sim, student)
        names = LabNames("dp000", suffix_of(sim, student)).all().values()
        for r in children:
            if r.type.removeprefix(T) in TAGGABLE:
                assert r.azure_name in names, (r.name, r.azure_name)


def test_components_parent_their_children(sim):
    lake = sim.one("synapse-ml-lab:storage:DataLake", "alice")
    assert {r.type for r in sim.children_of(lake)} == {
        f"{T}storage:StorageAccount",
        f"{T}storage:BlobContainer",
        f"{T}storage:Blob",
    }
    env = sim.one("synapse-ml-lab:lab:LabEnvironment", "alice")
    assert {r.type for r in sim.children_of(env)} >= {
        "synapse-ml-lab:storage:DataLake",
        "synapse-ml-lab:synapse:SynapseWorkspace",
        "synapse-ml-lab:ml:MachineLearningWorkspace",
        "synapse-ml-lab:access:Access",
        f"{T}resources:ResourceGroup",
        "random:index/randomString:RandomString",
    }


def test_outputs_per_student(sim):
    envs = sim.exports["environments"].value
    assert sorted(envs) == ["alice", "bob"]
    sfx = suffix_of(sim, "bob")
    bob = envs["bob"]
    assert bob["resourceGroup"] == f"dp000-{sfx}"
    assert bob["synapseWorkspace"] == f"synapse{sfx}"
    assert bob["sparkPool"] == f"spark{sfx}"
    assert bob["sqlPool"] == f"sql{sfx}"
    assert bob["dataLake"] == f"datalake{sfx}"
    assert bob["amlWorkspace"] == f"aml{sfx}"
    assert bob["synapseStudioUrl"].startswith(
        "https://web.azuresynapse.net?workspace=%2Fsubscriptions%2F"
    )
    assert bob["synapseStudioUrl"].endswith(f"workspaces%2Fsynapse{sfx}")
    assert bob["amlStudioUrl"].endswith(f"/workspaces/aml{sfx}")
    # The Log Analytics workspace's GUID (not its ARM id), which `classroom progress` queries.
    logs = only(env_resources(sim, "bob")[1], f"{T}operationalinsights:Workspace")
    assert bob["logAnalyticsWorkspaceId"] == logs.outputs["customerId"]
    assert bob["logAnalyticsWorkspaceId"] != envs["alice"]["logAnalyticsWorkspaceId"]


# --- other configurations ---


def test_restricted_firewall_and_deployer_rule(base_config):
    sim = run_program(
        {
            **base_config,
            "lab:allowedIpRanges": ["203.0.113.0-203.0.113.255", "198.51.100.7"],
            "lab:deployerIpAddress": "192.0.2.10",
        }
    )
    rules = {
        r.inputs["ruleName"]: (r.inputs["startIpAddress"], r.inputs["endIpAddress"])
        for r in sim.of_type(f"{T}synapse:IpFirewallRule")
    }
    assert rules == {
        "AllowAllWindowsAzureIps": ("0.0.0.0", "0.0.0.0"),
        "allowed-1": ("203.0.113.0", "203.0.113.255"),
        "allowed-2": ("198.51.100.7", "198.51.100.7"),
        "deployer": ("192.0.2.10", "192.0.2.10"),
    }
    assert not any("allowedIpRanges is not set" in w for w in sim.warnings)


def test_without_dedicated_sql_pool(base_config):
    sim = run_program({**base_config, "lab:dedicatedSqlPool": "false"})
    assert sim.of_type(f"{T}synapse:SqlPool") == []
    env = next(iter(sim.exports["environments"].value.values()))
    assert env["sqlPool"] is None


def test_single_student_from_stack_name_and_options(base_config, tmp_path):
    features = "season,mnth,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed"
    (tmp_path / "bike-rentals-training.csv").write_text(f"{features},rentals\n")
    (tmp_path / "weather-forecast.csv").write_text(f"{features}\n")
    sim = run_program(
        {
            **base_config,
            "lab:resourceGroupPrefix": "ml-class",
            "lab:sqlAdminLogin": "labadmin",
            "lab:amlComputeVmSize": "Standard_E4ds_v4",
            "lab:sparkVersion": "3.5",
            "lab:deployerPrincipalType": "ServicePrincipal",
            "lab:dataDir": str(tmp_path),
        },
        stack="Autumn_Class",
    )
    assert list(sim.exports["environments"].value) == ["autumn-class"]
    rg = sim.one(f"{T}resources:ResourceGroup")
    assert rg.inputs["resourceGroupName"].startswith("ml-class-")
    assert sim.one(f"{T}synapse:Workspace").inputs["sqlAdministratorLogin"] == "labadmin"
    compute = sim.one(f"{T}machinelearningservices:Compute")
    assert compute.inputs["properties"]["properties"]["vmSize"] == "Standard_E4ds_v4"
    owner = sim.one(f"{T}authorization:RoleAssignment", "deployer")
    assert owner.inputs["principalType"] == "ServicePrincipal"
    # lab:dataDir: the local files are uploaded instead of the public copies
    sources = {b.inputs["blobName"]: b.inputs["source"] for b in sim.of_type(f"{T}storage:Blob")}
    assert {name: (type(a), a.path) for name, a in sources.items()} == {
        "data/bike-rentals-training.csv": (
            pulumi.FileAsset,
            str(tmp_path / "bike-rentals-training.csv"),
        ),
        "data/weather-forecast.csv": (pulumi.FileAsset, str(tmp_path / "weather-forecast.csv")),
    }


def test_a_configured_password_is_not_used_and_preview_says_so(base_config):
    sim = run_program(
        {**base_config, "lab:sqlAdminPassword": "Cl4ss-Passw0rd!"},
        secret_keys=("lab:sqlAdminPassword",),
    )
    ws = sim.one(f"{T}synapse:Workspace")
    assert "sqlAdministratorLoginPassword" not in ws.inputs
    assert ws.inputs["azureADOnlyAuthentication"] is True
    assert any("lab:sqlAdminPassword is set but no longer used" in w for w in sim.warnings)
