"""The policy pack (policy/): each rule on good and bad props, the real program's
resources under mocks, deliberately broken copies of them, and the pack itself."""

from __future__ import annotations

import copy
import importlib
import inspect
import runpy
import sys
from types import SimpleNamespace

import pytest
import yaml

from classroom.planning.simulate import FAKE_SUBSCRIPTION, run_program
from policy import rules
from tests.conftest import BASE_CONFIG, ROOT

T = "azure-native:"
U = rules.UNKNOWN_STRING  # how the engine sends a value not known during preview
FIREWALL = "synapse-firewall-not-open-to-all"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
USER_ACCESS_ADMIN = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
SUB = f"/subscriptions/{FAKE_SUBSCRIPTION}"
RG = f"{SUB}/resourceGroups/dp000-abc1234"
LAKE_ID = f"{RG}/providers/Microsoft.Storage/storageAccounts/datalakeabc1234"

TAGS = {
    "course": "dp-100",
    "student": "alice",
    "expires-on": "2026-12-20",
    "DeploymentId": "abc1234",
}
SPARK = {
    "nodeSizeFamily": "MemoryOptimized",
    "nodeSize": "Small",
    "autoScale": {"enabled": True, "minNodeCount": 3, "maxNodeCount": 4},
    "autoPause": {"enabled": True, "delayInMinutes": 15},
    "sparkVersion": "3.5",
    "tags": TAGS,
}
STORAGE = {
    "kind": "StorageV2",
    "enableHttpsTrafficOnly": True,
    "minimumTlsVersion": "TLS1_2",
    "allowBlobPublicAccess": False,
    "tags": TAGS,
}
COMPUTE = {
    "computeName": "automl-cluster",
    "properties": {
        "computeType": "AmlCompute",
        "properties": {
            "vmSize": "Standard_DS3_v2",
            "scaleSettings": {"minNodeCount": 0, "maxNodeCount": 2},
        },
    },
    "tags": TAGS,
}
# The Synapse identity's role on the lake (Storage Blob Data Contributor).
ROLE = {
    "scope": LAKE_ID,
    "principalType": "ServicePrincipal",
    "roleDefinitionId": f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/"
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
}


def with_(base: dict, path: str, value) -> dict:
    """A deep copy of ``base`` with the dotted ``path`` set to ``value`` (rules.MISSING deletes it)."""
    result = copy.deepcopy(base)
    *parents, last = path.split(".")
    node = result
    for key in parents:
        node = node.setdefault(key, {})
    if value is rules.MISSING:
        node.pop(last, None)
    else:
        node[last] = value
    return result


# --- Each validator on its own -------------------------------------------------------


def test_spark_pool_within_limits_passes():
    assert rules.spark_pool_limits(rules.BIG_DATA_POOL, SPARK) == []
    assert rules.spark_pool_limits(rules.BIG_DATA_POOL, with_(SPARK, "nodeSize", "Medium")) == []
    fixed = with_(with_(SPARK, "autoScale", {"enabled": False}), "nodeCount", 4)
    assert rules.spark_pool_limits(rules.BIG_DATA_POOL, fixed) == []


@pytest.mark.parametrize(
    "path, value, expected",
    [
        (
            "nodeSize",
            "Large",
            "Spark pool nodeSize is 'Large'; the node sizes allowed are Small or Medium.",
        ),
        ("nodeSize", rules.MISSING, "Spark pool nodeSize is not set; it must be Small or Medium."),
        ("autoScale.maxNodeCount", 10, "Spark pool autoScale.maxNodeCount is 10; the limit is 4."),
        # numbers arrive from the engine as floats
        (
            "autoScale.maxNodeCount",
            10.0,
            "Spark pool autoScale.maxNodeCount is 10; the limit is 4.",
        ),
        (
            "autoScale.maxNodeCount",
            rules.MISSING,
            "Spark pool autoScale.maxNodeCount is not set while autoScale.enabled is true; it must be set to at most 4.",
        ),
        ("nodeCount", 6, "Spark pool nodeCount is 6; the limit is 4."),
        (
            "autoPause.enabled",
            False,
            "Spark pool autoPause.enabled is False; it must be true (an idle pool must pause itself).",
        ),
        (
            "autoPause",
            rules.MISSING,
            "Spark pool autoPause.enabled is not set; it must be explicitly true (an idle pool must pause itself).",
        ),
        (
            "autoPause.delayInMinutes",
            60,
            "Spark pool autoPause.delayInMinutes is 60; the limit is 15.",
        ),
        (
            "autoPause.delayInMinutes",
            rules.MISSING,
            "Spark pool autoPause.delayInMinutes is not set; it must be at most 15.",
        ),
    ],
)
def test_spark_pool_over_limits_is_reported(path, value, expected):
    assert rules.spark_pool_limits(rules.BIG_DATA_POOL, with_(SPARK, path, value)) == [expected]


def test_spark_pool_reports_every_problem_at_once():
    bad = with_(with_(SPARK, "nodeSize", "XXLarge"), "autoPause.enabled", False)
    messages = rules.spark_pool_limits(rules.BIG_DATA_POOL, bad)
    assert len(messages) == 2
    assert "nodeSize is 'XXLarge'" in messages[0] and "autoPause.enabled is False" in messages[1]


def test_sql_pool_sku():
    assert rules.sql_pool_sku(rules.SQL_POOL, {"sku": {"name": "DW100c"}}) == []
    assert rules.sql_pool_sku(rules.SQL_POOL, {"sku": {"name": "DW1000c"}}) == [
        "Dedicated SQL pool sku.name is 'DW1000c'; the largest service level allowed is DW100c."
    ]
    assert rules.sql_pool_sku(rules.SQL_POOL, {"collation": "x"}) == [
        "Dedicated SQL pool sku.name is not set; it must be DW100c (the smallest service level)."
    ]


def test_aml_compute_scales_to_zero():
    assert rules.aml_compute_scales_to_zero(rules.ML_COMPUTE, COMPUTE) == []
    # absent: Azure's default is 0
    absent = with_(COMPUTE, "properties.properties.scaleSettings.minNodeCount", rules.MISSING)
    assert rules.aml_compute_scales_to_zero(rules.ML_COMPUTE, absent) == []
    bad = with_(COMPUTE, "properties.properties.scaleSettings.minNodeCount", 1)
    assert rules.aml_compute_scales_to_zero(rules.ML_COMPUTE, bad) == [
        "Azure ML compute cluster properties.properties.scaleSettings.minNodeCount is 1; "
        "it must be 0 so the cluster scales to zero nodes when idle."
    ]
    # Only AmlCompute clusters have scale settings to check.
    instance = with_(bad, "properties.computeType", "ComputeInstance")
    assert rules.aml_compute_scales_to_zero(rules.ML_COMPUTE, instance) == []


def test_storage_account_security():
    assert rules.storage_account_security(rules.STORAGE_ACCOUNT, STORAGE) == []
    assert (
        rules.storage_account_security(
            rules.STORAGE_ACCOUNT, with_(STORAGE, "minimumTlsVersion", "TLS1_3")
        )
        == []
    )
    cases = {
        (
            "allowBlobPublicAccess",
            True,
        ): "Storage account allowBlobPublicAccess is True; it must be false (no anonymous access to blobs).",
        (
            "allowBlobPublicAccess",
            rules.MISSING,
        ): "Storage account allowBlobPublicAccess is not set; it must be explicitly false "
        "(no anonymous access to blobs).",
        (
            "enableHttpsTrafficOnly",
            False,
        ): "Storage account enableHttpsTrafficOnly is False; it must be true (HTTPS only).",
        (
            "enableHttpsTrafficOnly",
            rules.MISSING,
        ): "Storage account enableHttpsTrafficOnly is not set; it must be explicitly true (HTTPS only).",
        (
            "minimumTlsVersion",
            "TLS1_0",
        ): "Storage account minimumTlsVersion is 'TLS1_0'; it must be TLS1_2 or TLS1_3.",
        (
            "minimumTlsVersion",
            rules.MISSING,
        ): "Storage account minimumTlsVersion is not set; it must be explicitly TLS1_2 or TLS1_3.",
    }
    for (path, value), expected in cases.items():
        assert rules.storage_account_security(
            rules.STORAGE_ACCOUNT, with_(STORAGE, path, value)
        ) == [expected]


def test_required_tags():
    for typ in rules.TAGGABLE_TYPES:
        assert rules.required_tags(typ, {"tags": TAGS}) == []
    # Types that take no tags are not checked.
    assert rules.required_tags(f"{T}storage:BlobContainer", {"containerName": "files"}) == []
    sql = f"{T}synapse:SqlPool"
    assert rules.required_tags(sql, {"sku": {"name": "DW100c"}}) == [
        "tags is not set; the required tags are course, student, expires-on, DeploymentId."
    ]
    assert rules.required_tags(sql, with_({"tags": TAGS}, "tags.DeploymentId", rules.MISSING)) == [
        "tags lacks DeploymentId (found: course, expires-on, student); "
        "the required tags are course, student, expires-on, DeploymentId."
    ]
    assert rules.required_tags(sql, with_({"tags": TAGS}, "tags.student", " ")) == [
        "tags.student is ' '; it must be a non-empty string."
    ]
    for bad_date in ("31/12/2026", "2026-02-30", "20261231"):
        assert rules.required_tags(sql, with_({"tags": TAGS}, "tags.expires-on", bad_date)) == [
            f"tags.expires-on is '{bad_date}'; it must be an ISO date (YYYY-MM-DD)."
        ]


def test_firewall_open_to_all_is_reported():
    fw = rules.IP_FIREWALL_RULE
    assert rules.firewall_not_open_to_all(
        fw, {"ruleName": "allowAll", "startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"}
    ) == [
        "Synapse firewall rule 'allowAll' startIpAddress 0.0.0.0 - endIpAddress 255.255.255.255 lets every "
        "address reach the workspace; set lab:allowedIpRanges to the class's address ranges."
    ]
    # Azure's "allow Azure services" convention and a class range are fine.
    assert (
        rules.firewall_not_open_to_all(
            fw,
            {
                "ruleName": "AllowAllWindowsAzureIps",
                "startIpAddress": "0.0.0.0",
                "endIpAddress": "0.0.0.0",
            },
        )
        == []
    )
    assert (
        rules.firewall_not_open_to_all(
            fw, {"startIpAddress": "203.0.113.0", "endIpAddress": "203.0.113.255"}
        )
        == []
    )


def test_role_assignment_least_privilege():
    ra = rules.ROLE_ASSIGNMENT
    assert rules.role_assignment_least_privilege(ra, ROLE) == []
    assert rules.role_assignment_least_privilege(ra, with_(ROLE, "scope", RG)) == []
    scopes = {
        SUB: f"Role assignment scope is '{SUB}' (a whole subscription); it must be a resource group or a resource.",
        f"{SUB}/": f"Role assignment scope is '{SUB}/' (a whole subscription); "
        "it must be a resource group or a resource.",
        "/": "Role assignment scope is '/' (the root scope); it must be a resource group or a resource.",
        "/providers/Microsoft.Management/managementGroups/contoso": "Role assignment scope is '/providers/Microsoft.Management/managementGroups/contoso' "
        "(a management group); it must be a resource group or a resource.",
    }
    for scope, expected in scopes.items():
        assert rules.role_assignment_least_privilege(ra, with_(ROLE, "scope", scope)) == [expected]
    for guid, role_name in ((OWNER, "Owner"), (USER_ACCESS_ADMIN, "User Access Administrator")):
        role_id = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        assert rules.role_assignment_least_privilege(
            ra, with_(ROLE, "roleDefinitionId", role_id)
        ) == [
            f"Role assignment roleDefinitionId is '{role_id}' ({role_name}); "
            "Owner and User Access Administrator are never granted by the lab."
        ]


def test_nobody_is_contributor_not_even_a_managed_identity():
    ra = rules.ROLE_ASSIGNMENT
    assert rules.role_assignment_least_privilege(ra, ROLE) == []
    role_id = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{CONTRIBUTOR}"
    contributor = with_(ROLE, "roleDefinitionId", role_id)
    # The lab's own IAM step (the Synapse identity as Contributor on Azure ML) included:
    # a student acts as that identity through Synapse credentials.
    for principal_type in ("User", "Group", "ServicePrincipal", rules.MISSING):
        found = rules.role_assignment_least_privilege(
            ra, with_(contributor, "principalType", principal_type)
        )
        who = "User" if principal_type is rules.MISSING else principal_type
        assert found == [
            f"Role assignment roleDefinitionId is '{role_id}' (Contributor) for a {who}; students "
            "and the identities they can act as get only the roles the lab needs "
            "(lab/permissions.yaml), never Contributor or Owner."
        ]
    # A Reader assignment for a user is fine; an unknown principal type is not judged.
    reader = f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"
    student = with_(with_(ROLE, "principalType", "User"), "roleDefinitionId", reader)
    assert rules.role_assignment_least_privilege(ra, student) == []
    assert rules.role_assignment_least_privilege(ra, with_(contributor, "principalType", U)) == []


def test_a_students_roles_pass_and_contributor_instead_of_reader_is_reported(restricted):
    people = [
        r
        for r in restricted.of_type(rules.ROLE_ASSIGNMENT)
        if r.inputs["principalType"] in ("User", "Group")
    ]
    assert len(people) == 4 + 2  # alice's four, and the deployer's lake role in both labs
    for r in people:
        assert rules.violations(r.type, r.inputs) == {}, r.name
    reader = restricted.one(rules.ROLE_ASSIGNMENT, "alice-access-student-rg-reader")
    inputs = copy.deepcopy(reader.inputs)
    inputs["roleDefinitionId"] = inputs["roleDefinitionId"].replace(
        "acdd72a7-3385-48ef-bd42-f606fba81ae7", CONTRIBUTOR
    )
    found = rules.violations(reader.type, inputs)
    assert list(found) == ["role-assignment-least-privilege"]
    assert "(Contributor) for a User" in found["role-assignment-least-privilege"][0]


UNKNOWN_CASES = [
    (
        rules.BIG_DATA_POOL,
        {**SPARK, "nodeSize": U, "autoScale": U, "autoPause": {"enabled": U, "delayInMinutes": U}},
    ),
    (rules.BIG_DATA_POOL, {**SPARK, "autoScale": {"enabled": True, "maxNodeCount": U}}),
    (rules.SQL_POOL, {"sku": {"name": U}, "tags": TAGS}),
    (rules.SQL_POOL, {"sku": U, "tags": U}),
    (rules.ML_COMPUTE, with_(COMPUTE, "properties.properties.scaleSettings.minNodeCount", U)),
    (rules.ML_COMPUTE, with_(COMPUTE, "properties.computeType", U)),
    (
        rules.STORAGE_ACCOUNT,
        {
            "enableHttpsTrafficOnly": U,
            "minimumTlsVersion": U,
            "allowBlobPublicAccess": U,
            "tags": {**TAGS, "DeploymentId": U, "expires-on": U},
        },
    ),
    (rules.IP_FIREWALL_RULE, {"startIpAddress": U, "endIpAddress": "255.255.255.255"}),
    (rules.ROLE_ASSIGNMENT, {"scope": U, "roleDefinitionId": U}),
]


@pytest.mark.parametrize("typ, props", UNKNOWN_CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_unknown_values_are_never_violations(typ, props):
    assert rules.violations(typ, props) == {}


def test_every_unknown_sentinel_counts_as_unknown():
    proxy = pytest.importorskip("pulumi_policy.proxy")
    sdk = {
        value
        for name, value in vars(proxy).items()
        if name.startswith("UNKNOWN_") and name.endswith("_VALUE")
    }
    assert sdk == rules.UNKNOWN_VALUES
    for sentinel in sdk:
        assert (
            rules.storage_account_security(
                rules.STORAGE_ACCOUNT, {**STORAGE, "allowBlobPublicAccess": sentinel}
            )
            == []
        )


def test_validators_ignore_other_types():
    for name, rule in rules.POLICIES.items():
        assert rule.validate("random:index/randomString:RandomString", {"length": 7}) == [], name
        assert rule.validate(f"{T}storage:Blob", {"blobName": "data/x.csv"}) == [], name


# --- The real program under mocks ---------------------------------------------------------


def all_violations(resources):
    """(policy, level, resource name, message) for every declared resource and every rule."""
    found = []
    for r in resources:
        for name, messages in rules.violations(r.type, r.inputs).items():
            found += [(name, rules.POLICIES[name].level, r.name, m) for m in messages]
    return found


@pytest.fixture(scope="module")
def shipped():
    config = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    return run_program(config)


@pytest.fixture(scope="module")
def restricted():
    return run_program(
        {
            **BASE_CONFIG,
            "lab:students": [
                {"id": "alice", "objectId": "0a1b2c3d-0000-4000-8000-000000000001"},
                {"id": "bob"},
            ],
            "lab:allowedIpRanges": ["203.0.113.0-203.0.113.255", "198.51.100.7"],
        }
    )


def test_shipped_config_has_no_mandatory_violation_and_the_open_firewall_is_flagged(shipped):
    found = all_violations(shipped.resources)
    assert [v for v in found if v[1] == rules.MANDATORY] == []
    advisory = [v for v in found if v[1] == rules.ADVISORY]
    assert [(policy, name) for policy, _, name, _ in advisory] == [
        (FIREWALL, "student01-synapse-fw-allowAll")
    ]
    assert "startIpAddress 0.0.0.0 - endIpAddress 255.255.255.255" in advisory[0][3]


def test_restricted_firewall_two_students_no_violation_at_all(restricted):
    assert len(restricted.of_type(rules.BIG_DATA_POOL)) == 2
    assert all_violations(restricted.resources) == []


def test_every_rule_sees_the_resources_it_checks(shipped):
    declared = {r.type for r in shipped.resources}
    for typ in (
        rules.BIG_DATA_POOL,
        rules.SQL_POOL,
        rules.ML_COMPUTE,
        rules.STORAGE_ACCOUNT,
        rules.IP_FIREWALL_RULE,
        rules.ROLE_ASSIGNMENT,
    ):
        assert typ in declared, typ


def test_taggable_types_match_the_azure_native_schema(shipped):
    """TAGGABLE_TYPES is exactly the declared azure-native types whose args take ``tags``."""
    declared = {r.type for r in shipped.resources if r.type.startswith(T)}
    taggable = set()
    for typ in declared:
        module, cls = typ[len(T) :].split(":")
        resource = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls)
        if "tags" in inspect.signature(resource._internal_init).parameters:
            taggable.add(typ)
    assert taggable == set(rules.TAGGABLE_TYPES)


def _mutate_tags(inputs):
    del inputs["tags"]["expires-on"]


def _set(path, value):
    def mutate(inputs):
        node = inputs
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        node[last] = value

    return mutate


MUTATIONS = [
    (
        "spark autoPause off",
        rules.BIG_DATA_POOL,
        "",
        _set("autoPause.enabled", False),
        "spark-pool-limits",
        "autoPause.enabled is False",
    ),
    (
        "spark 10 nodes",
        rules.BIG_DATA_POOL,
        "",
        _set("autoScale.maxNodeCount", 10),
        "spark-pool-limits",
        "autoScale.maxNodeCount is 10; the limit is 4",
    ),
    (
        "spark Large nodes",
        rules.BIG_DATA_POOL,
        "",
        _set("nodeSize", "Large"),
        "spark-pool-limits",
        "nodeSize is 'Large'",
    ),
    (
        "sql DW1000c",
        rules.SQL_POOL,
        "",
        _set("sku.name", "DW1000c"),
        "sql-pool-sku",
        "sku.name is 'DW1000c'",
    ),
    (
        "compute min 1",
        rules.ML_COMPUTE,
        "",
        _set("properties.properties.scaleSettings.minNodeCount", 1),
        "aml-compute-scales-to-zero",
        "minNodeCount is 1",
    ),
    (
        "public blobs",
        rules.STORAGE_ACCOUNT,
        "lake",
        _set("allowBlobPublicAccess", True),
        "storage-account-security",
        "allowBlobPublicAccess is True",
    ),
    (
        "old TLS",
        rules.STORAGE_ACCOUNT,
        "aml",
        _set("minimumTlsVersion", "TLS1_0"),
        "storage-account-security",
        "minimumTlsVersion is 'TLS1_0'",
    ),
    (
        "tag removed",
        f"{T}synapse:Workspace",
        "",
        _mutate_tags,
        "required-tags",
        "tags lacks expires-on",
    ),
    (
        "subscription scope",
        rules.ROLE_ASSIGNMENT,
        "synapse-ml-linked-service",
        _set("scope", SUB),
        "role-assignment-least-privilege",
        "(a whole subscription)",
    ),
    (
        "owner",
        rules.ROLE_ASSIGNMENT,
        "lake-contributor",
        _set(
            "roleDefinitionId", f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OWNER}"
        ),
        "role-assignment-least-privilege",
        "(Owner)",
    ),
]


@pytest.mark.parametrize(
    "typ, name_contains, mutate, policy, expected",
    [m[1:] for m in MUTATIONS],
    ids=[m[0] for m in MUTATIONS],
)
def test_broken_copy_of_a_declared_resource_is_reported(
    shipped, typ, name_contains, mutate, policy, expected
):
    resource = shipped.one(typ, name_contains)
    assert rules.violations(resource.type, resource.inputs) == {}
    inputs = copy.deepcopy(resource.inputs)
    mutate(inputs)
    found = rules.violations(resource.type, inputs)
    assert list(found) == [policy], found
    assert any(expected in message for message in found[policy]), found
    assert rules.POLICIES[policy].level == rules.MANDATORY


# --- The pack: policy/__main__.py with the SDK ------------------------------------------


class RecordedPack:
    """Stands in for pulumi_policy.PolicyPack, whose constructor serves gRPC forever."""

    created: list[RecordedPack] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        RecordedPack.created.append(self)


@pytest.fixture
def pack(monkeypatch):
    pulumi_policy = pytest.importorskip("pulumi_policy")
    monkeypatch.setattr(pulumi_policy, "PolicyPack", RecordedPack)
    monkeypatch.setattr(sys, "path", list(sys.path))
    saved = sys.modules.pop("rules", None)
    RecordedPack.created = []
    try:
        runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    finally:
        sys.modules.pop("rules", None)
        if saved is not None:
            sys.modules["rules"] = saved
    assert len(RecordedPack.created) == 1
    return SimpleNamespace(sdk=pulumi_policy, **RecordedPack.created[0].kwargs)


def test_pack_declares_every_rule_at_its_level(pack):
    assert pack.name == "synapse-ml-lab-guardrails"
    assert pack.enforcement_level == pack.sdk.EnforcementLevel.MANDATORY
    resource_policies = [
        p for p in pack.policies if isinstance(p, pack.sdk.ResourceValidationPolicy)
    ]
    assert [p.name for p in resource_policies] == list(rules.POLICIES)
    stack_policies = [p for p in pack.policies if isinstance(p, pack.sdk.StackValidationPolicy)]
    assert [p.name for p in stack_policies] == list(rules.STACK_POLICIES)
    assert len(pack.policies) == len(rules.POLICIES) + len(rules.STACK_POLICIES)
    for policy in stack_policies:
        assert policy.enforcement_level == pack.sdk.EnforcementLevel.ADVISORY
    for policy in resource_policies:
        assert isinstance(policy, pack.sdk.ResourceValidationPolicy)
        rule = rules.POLICIES[policy.name]
        assert policy.description and policy.description == rule.description
        expected = (
            pack.sdk.EnforcementLevel.ADVISORY
            if policy.name == FIREWALL
            else pack.sdk.EnforcementLevel.MANDATORY
        )
        assert policy.enforcement_level == expected, policy.name
        wrapped = policy._ResourceValidationPolicy__validate.rule.validate
        assert wrapped.__name__ == rule.validate.__name__
        assert inspect.getsourcefile(wrapped) == inspect.getsourcefile(rule.validate)


def test_pack_policies_report_what_the_validators_return(pack):
    cases = {
        rules.BIG_DATA_POOL: with_(SPARK, "autoPause.enabled", False),
        rules.SQL_POOL: {"sku": {"name": "DW500c"}},  # and no tags
        rules.ML_COMPUTE: with_(COMPUTE, "properties.properties.scaleSettings.minNodeCount", 2),
        rules.STORAGE_ACCOUNT: with_(STORAGE, "minimumTlsVersion", "TLS1_1"),
        rules.IP_FIREWALL_RULE: {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},
        rules.ROLE_ASSIGNMENT: with_(ROLE, "scope", "/"),
    }
    reported_by = set()
    for typ, props in cases.items():
        for policy in pack.policies:
            if not isinstance(policy, pack.sdk.ResourceValidationPolicy):
                continue
            reported = []
            args = SimpleNamespace(resource_type=typ, props=props)
            policy.validate(
                args, lambda message, urn=None, reported=reported: reported.append(message)
            )
            assert reported == rules.POLICIES[policy.name].validate(typ, props)
            if reported:
                reported_by.add(policy.name)
    assert reported_by == set(rules.POLICIES)


def analyze(pack, typ, props):
    """Run the pack's policies the way the SDK's analyzer does for one resource."""
    from google.protobuf import json_format, struct_pb2
    from pulumi.runtime import proto

    servicer_class = getattr(pack.sdk.policy, "_PolicyAnalyzerServicer", None)
    if servicer_class is None:
        pytest.skip("pulumi_policy has no _PolicyAnalyzerServicer")
    servicer = servicer_class(pack.name, "0.0.1", pack.policies, pack.enforcement_level)
    properties = struct_pb2.Struct()
    json_format.ParseDict(props, properties)
    request = proto.AnalyzeRequest(
        type=typ, properties=properties, urn=f"urn:pulumi:dev::lab::{typ}::x", name="x"
    )
    return list(servicer.Analyze(request, None).diagnostics)


def test_sdk_analyzer_reports_violations_with_levels(pack):
    from pulumi.runtime import proto

    diagnostics = analyze(pack, rules.BIG_DATA_POOL, with_(SPARK, "autoScale.maxNodeCount", 10))
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [
        ("spark-pool-limits", proto.MANDATORY)
    ]
    assert diagnostics[0].message.endswith(
        "Spark pool autoScale.maxNodeCount is 10; the limit is 4."
    )
    diagnostics = analyze(
        pack,
        rules.IP_FIREWALL_RULE,
        {"startIpAddress": "0.0.0.0", "endIpAddress": "255.255.255.255"},
    )
    assert [(d.policyName, d.enforcementLevel) for d in diagnostics] == [(FIREWALL, proto.ADVISORY)]


def test_sdk_analyzer_skips_unknown_values_but_checks_the_rest(pack):
    # Preview: the suffix (DeploymentId) and the storage account id are not known yet.
    tags = {**TAGS, "DeploymentId": U}
    assert analyze(pack, rules.STORAGE_ACCOUNT, {**STORAGE, "tags": tags}) == []
    assert analyze(pack, rules.ROLE_ASSIGNMENT, {**ROLE, "scope": U}) == []
    # Known values next to unknown ones are still checked (no "can't run policy" note instead).
    diagnostics = analyze(
        pack,
        rules.STORAGE_ACCOUNT,
        {
            **STORAGE,
            "allowBlobPublicAccess": True,
            "tags": {k: v for k, v in tags.items() if k != "course"},
        },
    )
    assert sorted(d.policyName for d in diagnostics) == [
        "required-tags",
        "storage-account-security",
    ]
    assert not any("can't run policy" in d.message for d in diagnostics)
    assert any("tags lacks course" in d.message for d in diagnostics)


def test_a_sql_pool_without_a_pause_schedule_is_an_advisory_warning(pack):
    with_schedule = [(rules.SQL_POOL, {}), (rules.PAUSE_SCHEDULE, {"times": ["23:00"]})]
    assert rules.sql_pools_pause_themselves(with_schedule) == []
    assert rules.sql_pools_pause_themselves([(rules.BIG_DATA_POOL, {})]) == []
    found = rules.sql_pools_pause_themselves([(rules.SQL_POOL, {}), (rules.SQL_POOL, {})])
    assert len(found) == 1 and "2 dedicated SQL pool(s) and 0 pause schedule(s)" in found[0]
    assert "lab:pauseSqlPoolAt" in found[0]
    (policy,) = [p for p in pack.policies if p.name == "sql-pool-pause-schedule"]
    reported = []
    resources = [SimpleNamespace(resource_type=rules.SQL_POOL, props={"sku": {"name": "DW100c"}})]
    policy.validate(SimpleNamespace(resources=resources), lambda m, urn=None: reported.append(m))
    assert reported == rules.sql_pools_pause_themselves([(rules.SQL_POOL, {})])
    assert reported[0].startswith("The stack has 1 dedicated SQL pool(s) and 0 pause schedule(s)")


def test_the_shipped_program_has_a_pause_schedule_per_pool_and_none_when_off(base_config):
    from classroom.planning.simulate import run_program

    def resources(config):
        return [(r.type, r.inputs) for r in run_program(config).resources if r.custom]

    assert rules.sql_pools_pause_themselves(resources(base_config)) == []
    off = rules.sql_pools_pause_themselves(resources({**base_config, "lab:pauseSqlPoolAt": []}))
    assert len(off) == 1 and "1 dedicated SQL pool(s) and 0 pause schedule(s)" in off[0]
