"""`python -m classroom preflight` against the fake ARM over HTTPS, with the real SDK clients."""

from __future__ import annotations

import argparse
import io
import json

import pytest
import yaml

from classroom.__main__ import build_parser
from classroom.checking import preflight as pf
from tests.fakes.arm import FAMILY_USAGE_NAMES, TOTAL_DEDICATED, FakeArm
from tests.fakes.synapse import FakeCredential, make_tls_files, trust_fake

SUB = "5ab5ab5a-0000-4000-8000-000000000001"
SUB_B = "5ab5ab5a-0000-4000-8000-000000000002"
DSV2 = FAMILY_USAGE_NAMES["standardDSv2Family"]
ALL = (
    "Microsoft.Storage",
    "Microsoft.Synapse",
    "Microsoft.Sql",
    "Microsoft.Compute",
    "Microsoft.MachineLearningServices",
    "Microsoft.KeyVault",
    "Microsoft.OperationalInsights",
    "Microsoft.Insights",
)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("fake-arm-tls"))


@pytest.fixture
def arm(tls, monkeypatch):
    trust_fake(monkeypatch, tls[0])
    for name in ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    with FakeArm(tls) as server:
        yield server


def write_class(tmp_path, students=3, **config):
    document = {
        "config": {
            "azure-native:location": "westeurope",
            "lab:expiresOn": "2099-12-20",
            "lab:students": [{"id": f"s{i}"} for i in range(students)],
            **config,
        }
    }
    (tmp_path / "Pulumi.spring.yaml").write_text(yaml.safe_dump(document))


def run(arm, tmp_path, *extra, credential=None):
    args = build_parser().parse_args(["preflight", "--stack", "spring", "--retries", "1", *extra])
    out, err = io.StringIO(), io.StringIO()
    code = pf.main(
        args,
        credential=credential or FakeCredential(),
        endpoints=pf.Endpoints(arm=arm.url),
        root=tmp_path,
        out=out,
        err=err,
    )
    return code, out.getvalue(), err.getvalue()


def report(arm, tmp_path, *extra):
    code, out, err = run(arm, tmp_path, "--json", *extra)
    return code, json.loads(out) if out else None, err


def findings(data, check, severity=None):
    return [
        f["message"]
        for s in data["subscriptions"]
        for f in s["findings"]
        if f["check"] == check and (severity is None or f["severity"] == severity)
    ]


def test_a_ready_subscription_passes_with_exit_code_0(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    write_class(tmp_path)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 0
    (sub,) = data["subscriptions"]
    assert (sub["subscription"], sub["students"], sub["state"]) == (SUB, 3, "ready")
    assert findings(data, "Azure ML quota", "ready") == [
        "3 student(s) x 2 nodes x 4 vCPUs of Standard_DS3_v2 = 24 dedicated vCPUs fit the "
        "standardDSv2Family and regional quotas"
    ]
    assert findings(data, "dedicated SQL pool", "ready") == ["DW100c is Available in westeurope"]
    # Read-only: not one write went to Azure.
    assert arm.writes() == []
    # What it cannot know it says so.
    assert findings(data, "names")[0].startswith(
        "global names (storage accounts, Key Vault, Synapse"
    )
    assert "not checked" in findings(data, "names")[0]


def test_azure_ml_quota_short_by_n_vcpus_is_not_ready_with_the_numbers(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.ml_usages[SUB][DSV2] = (6, 20)  # 14 free
    write_class(tmp_path, students=3)  # needs 3 x 2 x 4 = 24
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    (message,) = findings(data, "Azure ML quota", "not ready")
    assert message.startswith(
        "standardDSv2Family vCPUs: short by 10 (3 student(s) x 2 nodes x 4 vCPUs"
    )
    assert "limit 20, in use 6" in message
    assert pf.QUOTA_LINK in message and "lab:subscriptions" in message


def test_the_regional_total_counts_too(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL, total_limit=10)
    write_class(tmp_path, students=2)  # 16
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    assert findings(data, "Azure ML quota", "not ready")[0].startswith(
        "regional dedicated vCPUs: short by 6"
    )


def test_unregistered_namespaces_up_will_register_when_the_identity_may(arm, tmp_path):
    arm.add_subscription(SUB, registered=tuple(ns for ns in ALL if ns != "Microsoft.Synapse"))
    write_class(tmp_path)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 0  # a warning: `pulumi up` registers it
    assert findings(data, "namespaces", "warning") == [
        "not registered yet: Microsoft.Synapse; `pulumi up` will register them (the identity may)"
    ]


def test_unregistered_namespaces_the_identity_may_not_register_are_not_ready(arm, tmp_path):
    arm.add_subscription(
        SUB,
        registered=tuple(ns for ns in ALL if ns not in ("Microsoft.Insights", "Microsoft.Sql")),
        not_actions=("*/register/action",),
    )
    write_class(tmp_path)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    (message,) = findings(data, "namespaces", "not ready")
    assert (
        "Microsoft.Sql, Microsoft.Insights" in message
        or "Microsoft.Insights, Microsoft.Sql" in message
    )
    assert f"`az provider register --namespace Microsoft.Insights --subscription {SUB}`" in message


def test_a_region_without_synapse_or_dw100c_is_not_ready(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.types["Microsoft.Synapse"] = {
        rtype: ("East US", "UK South") for rtype in arm.types["Microsoft.Synapse"]
    }
    arm.sql_status["westeurope"] = "Disabled"
    write_class(tmp_path)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    region = findings(data, "region", "not ready")
    # workspaces, firewall rules, Spark pools, SQL pools, the Entra admin
    assert len(region) == 5
    assert region[0].startswith("Microsoft.Synapse/workspaces is not offered in westeurope")
    (sql,) = findings(data, "dedicated SQL pool", "not ready")
    assert "DW100c) are Disabled in westeurope" in sql and "lab:dedicatedSqlPool false" in sql


def test_without_a_sql_pool_dw100c_is_not_asked(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.sql_status["westeurope"] = "Disabled"
    write_class(tmp_path, **{"lab:dedicatedSqlPool": False})
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 0 and findings(data, "dedicated SQL pool") == []
    assert arm.calls("GET", "Microsoft.Sql/locations") == []


def test_missing_rights_are_named_with_what_they_are_for(arm, tmp_path):
    arm.add_subscription(
        SUB,
        registered=ALL,
        actions=("*/read", "Microsoft.Resources/subscriptions/resourceGroups/write"),
    )
    write_class(tmp_path)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    rights = findings(data, "rights", "not ready")
    assert len(rights) == 3
    assert (
        "create the lab's role assignments (Microsoft.Authorization/roleAssignments/write)"
        in rights[0]
    )
    assert (
        "create the lab's custom role (SQL pool operator) "
        "(Microsoft.Authorization/roleDefinitions/write)" in rights[1]
    )
    assert "purge the Key Vaults at `pulumi destroy`" in rights[2]
    assert f"--scope /subscriptions/{SUB}" in rights[0]


def test_a_pay_as_you_go_subscription_holds_two_workspaces_and_12_spark_vcores(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL, offer="PayAsYouGo_2014-09-01")
    write_class(tmp_path, students=3)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    (workspaces,) = findings(data, "Synapse", "not ready")
    assert "3 Synapse workspace(s) in the subscription on top of 0 existing" in workspaces
    assert "default limit of 2" in workspaces
    (spark,) = findings(data, "Synapse", "warning")
    assert "scales to 16 vCores, above the default 12" in spark
    assert "cannot be read before the workspace exists" in spark


def test_existing_workspaces_in_the_region_count_against_the_limit(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.synapse_workspaces[SUB] = ["West Europe"] * 18 + ["East US"] * 5
    write_class(tmp_path, students=3)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    assert (
        "on top of 18 existing would pass the default limit of 20"
        in findings(data, "Synapse", "not ready")[0]
    )


def test_throttling_is_retried_and_persistent_throttling_is_reported(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    write_class(tmp_path)
    arm.fail("GET", r"/usages$", status=429, headers={"Retry-After": "0"})
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 0 and findings(data, "Azure ML quota", "ready")
    arm.fail("GET", r"/vmSizes$", status=429, count=10, headers={"Retry-After": "0"})
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    assert findings(data, "Azure ML quota", "not ready") == [
        "Azure ML quota: Azure Resource Manager kept throttling (429); run preflight again in a minute"
    ]
    # The other checks still ran.
    assert findings(data, "rights", "ready") and findings(data, "Synapse", "ready")


def test_each_subscription_of_the_class_is_checked_with_its_students(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.add_subscription(SUB_B, registered=())
    write_class(
        tmp_path,
        students=4,
        **{"lab:subscriptions": [{"id": SUB, "capacity": 2}, {"id": SUB_B, "capacity": 2}]},
    )
    code, data, _ = report(arm, tmp_path)
    assert code == 0
    assert [(s["subscription"], s["students"]) for s in data["subscriptions"]] == [
        (SUB, 2),
        (SUB_B, 2),
    ]
    assert [s["state"] for s in data["subscriptions"]] == ["ready", "warning"]


def test_the_table_puts_problems_first(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    arm.ml_usages[SUB][TOTAL_DEDICATED] = (0, 4)
    write_class(tmp_path)
    code, out, err = run(arm, tmp_path, "--subscription", SUB)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == f"subscription {SUB} (3 student(s)): not ready"
    assert lines[1].lstrip().startswith("not ready  Azure ML quota")
    assert lines[-1] == "1 subscription(s) not ready: fix the findings above first"
    assert f"checking subscription {SUB}" in err


def test_exit_code_2_without_a_subscription_or_a_sign_in(arm, tmp_path):
    write_class(tmp_path)
    code, out, err = run(arm, tmp_path)
    assert code == 2 and "--subscription ID" in err and out == ""

    class NoLogin:
        def get_token(self, *scopes, **kwargs):
            from azure.core.exceptions import ClientAuthenticationError

            raise ClientAuthenticationError("no account")

    code, _, err = run(arm, tmp_path, "--subscription", SUB, credential=NoLogin())
    assert code == 2 and "az login" in err
    code, _, err = run(arm, tmp_path / "nowhere", "--subscription", SUB)
    assert code == 2 and "Pulumi.spring.yaml" in err


def test_preflight_is_a_classroom_command():
    args = build_parser().parse_args(["preflight", "--stack", "spring"])
    assert isinstance(args, argparse.Namespace) and args.func is pf.main


def test_a_fresh_subscription_is_read_without_registering_anything(arm, tmp_path):
    """azure-mgmt-core's ARM pipeline registers a namespace on MissingSubscriptionRegistration
    (ARMAutoResourceProviderRegistrationPolicy); preflight's reads must not."""
    arm.add_subscription(SUB, registered=(), offer="AzureForStudents_2018-01-01")
    write_class(tmp_path, students=2)
    code, data, _ = report(arm, tmp_path, "--subscription", SUB)
    assert arm.writes() == [] and arm.registered_by_post == []
    assert all(arm.state(SUB, ns) == "NotRegistered" for ns in ALL)
    assert code == 0  # two workspaces fit this offer; the rest `pulumi up` registers first
    unreadable = findings(data, "Azure ML quota", "warning")
    assert unreadable and "registered with Microsoft.MachineLearningServices" in unreadable[0]
    assert (
        f"az provider register --namespace Microsoft.MachineLearningServices --subscription {SUB}"
        in unreadable[0]
    )
    # Not registered with Synapse means no workspace yet: the offer's limit still applies.
    assert findings(data, "Synapse", "ready") == [
        "0 + 2 workspace(s) in the subscription within the default limit of 2 (AzureForStudents_2018-01-01)"
    ]


def _state(tmp_path, suffixes):
    urn = "urn:pulumi:spring::synapse-ml-lab::synapse-ml-lab:lab:LabEnvironment$random:index/randomString:RandomString::{}-suffix"
    resources = [
        {
            "urn": urn.format(student),
            "type": "random:index/randomString:RandomString",
            "outputs": {"result": suffix},
        }
        for student, suffix in suffixes.items()
    ]
    resources.append(
        {
            "urn": "urn:pulumi:spring::synapse-ml-lab::pulumi:pulumi:Stack::x",
            "type": "pulumi:pulumi:Stack",
        }
    )
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 3, "deployment": {"resources": resources}}))
    return path


def test_global_names_of_drawn_suffixes_taken_elsewhere_are_not_ready(arm, tmp_path):
    from lab.naming import LabNames

    arm.add_subscription(SUB, registered=ALL)
    write_class(tmp_path, students=3)
    state = _state(tmp_path, {"s0": "abc1234", "s1": "def5678"})
    s0, s1 = LabNames("dp000", "abc1234"), LabNames("dp000", "def5678")
    arm.taken_names |= {s0.key_vault.lower(), s1.data_lake.lower()}
    # s1's lake is its own, from an earlier `up`: taken, but by the student.
    arm.owned.add(
        f"/subscriptions/{SUB}/resourceGroups/{s1.resource_group}/providers/"
        f"Microsoft.Storage/storageAccounts/{s1.data_lake}".lower()
    )
    code, data, _ = report(arm, tmp_path, "--subscription", SUB, "--state", str(state))
    assert code == 1
    (taken,) = findings(data, "names", "not ready")
    assert f"the Key Vault name '{s0.key_vault}' (student s0) is taken outside this class" in taken
    assert "pulumi up --replace 'urn:pulumi:spring::" in taken and "::s0-suffix'" in taken
    assert findings(data, "names", "ready") == [
        "1 student(s) have no suffix yet: their global names are drawn at the first `pulumi up` "
        "and cannot be checked before"
    ]
    # 2 students x 4 names asked, and no write but those availability questions.
    asked = arm.calls("POST", "checkNameAvailability")
    assert len(asked) == 8 and {r.body["type"] for r in asked} == {
        "Microsoft.Storage/storageAccounts",
        "Microsoft.KeyVault/vaults",
        "Microsoft.Synapse/workspaces",
    }
    assert [r for r in arm.writes() if "checkNameAvailability" not in r.path] == []


def test_free_global_names_are_ready(arm, tmp_path):
    arm.add_subscription(SUB, registered=ALL)
    write_class(tmp_path, students=1)
    code, data, _ = report(
        arm, tmp_path, "--subscription", SUB, "--state", str(_state(tmp_path, {"s0": "zzz9999"}))
    )
    assert code == 0
    assert findings(data, "names") == [
        "the global names of 1 student(s) with a drawn suffix are free or theirs"
    ]


# --- GUIDs checked before any sign-in (issue 29) ---


@pytest.mark.parametrize(
    "explicit, config, environ, expected",
    [
        (SUB.upper(), {}, {}, SUB),
        (None, {"azure-native:subscriptionId": SUB_B}, {"ARM_SUBSCRIPTION_ID": SUB}, SUB_B),
        (None, {}, {"AZURE_SUBSCRIPTION_ID": SUB}, SUB),
        (None, {}, {}, None),
    ],
)
def test_the_default_subscription_and_where_it_comes_from(
    monkeypatch, explicit, config, environ, expected
):
    for name in ("ARM_SUBSCRIPTION_ID", "AZURE_SUBSCRIPTION_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert pf.default_subscription(explicit, config) == expected


@pytest.mark.parametrize(
    "config, environ, where",
    [
        ({"azure-native:subscriptionId": "my-sub"}, {}, "azure-native:subscriptionId = 'my-sub'"),
        ({}, {"AZURE_SUBSCRIPTION_ID": "12345"}, "AZURE_SUBSCRIPTION_ID = '12345'"),
    ],
)
def test_a_default_subscription_that_is_not_a_guid_is_refused(monkeypatch, config, environ, where):
    monkeypatch.delenv("ARM_SUBSCRIPTION_ID", raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=f"^{where} is not a subscription id"):
        pf.default_subscription(None, config)


def test_subscription_on_the_command_line_must_be_a_guid(capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["preflight", "--stack", "spring", "--subscription", "abc"])
    assert info.value.code == 2
    assert "argument --subscription: 'abc' is not a GUID" in capsys.readouterr().err
    args = build_parser().parse_args(
        ["preflight", "--stack", "spring", "--subscription", SUB.upper()]
    )
    assert args.subscription == SUB and args.verbose is False
