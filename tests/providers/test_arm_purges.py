"""Teardown resources (purge / force delete on destroy) over real HTTPS against the fake ARM.

Each case drives a provider the way the engine does: inputs and old outputs go
through ``to_wire`` (JSON, ints as floats, None keys gone) before create, diff,
update and delete.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dill
import pulumi
import pytest

from providers.arm import KeyVaultPurge, LogAnalyticsForceDelete, MlWorkspacePurge
from providers.arm.purges import (
    KeyVaultPurgeProvider,
    LogAnalyticsForceDeleteProvider,
    MlWorkspacePurgeProvider,
    TeardownProvider,
)
from providers.base import UNKNOWN
from providers.client import DataPlaneError, RetrySettings
from tests.fakes import synapse as fs
from tests.fakes.synapse import FAST, to_wire

SUB = "00000000-1111-2222-3333-444444444444"
RG = "dp000-abc1234"
ML_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.MachineLearningServices/workspaces/amlabc1234"
LA_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.OperationalInsights/workspaces/amlabc1234-logs"
VAULT = "kvabc1234"
VAULT_ID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.KeyVault/vaults/{VAULT}"
DELETED_VAULT = fs.deleted_vault_path(SUB, "westeurope", VAULT)
ARM_SCOPE = ("https://management.azure.com/.default",)


@dataclass
class Case:
    """One teardown resource: its inputs, what it must send, what it must leave."""

    name: str
    provider: type[TeardownProvider]
    inputs: Callable[[Any], dict[str, Any]]
    setup: Callable[[Any], None]  # the state destroy finds it in
    method: str
    path: str
    query: dict[str, str]
    purged: str
    names: tuple[str, ...]  # what the final error must name
    manual: str
    outcome: str

    def still_there(self, server) -> bool:
        if self.provider is KeyVaultPurgeProvider:
            return DELETED_VAULT.lower() in server.deleted_vaults
        return server.arm_exists(self.purged)


def _ml_setup(server) -> None:
    server.add_arm_resource(ML_ID)


def _la_setup(server) -> None:
    server.add_arm_resource(LA_ID)


def _kv_setup(server) -> None:
    # azure-native has deleted the vault (the vault depends on its purge): it is soft-deleted now.
    server.add_arm_resource(VAULT_ID, "westeurope")
    server.delete_vault(VAULT_ID)


ML = Case(
    "ml",
    MlWorkspacePurgeProvider,
    lambda s: {"workspace_id": ML_ID, "arm_endpoint": s.url},
    _ml_setup,
    "DELETE",
    ML_ID,
    {"api-version": "2025-06-01", "forceToPurge": "true"},
    ML_ID,
    ("Azure ML workspace 'amlabc1234'", ML_ID),
    f"`az ml workspace delete --name amlabc1234 --resource-group {RG} --subscription {SUB} --permanently-delete --yes`",
    "deleted",
)
LA = Case(
    "log-analytics",
    LogAnalyticsForceDeleteProvider,
    lambda s: {"workspace_id": LA_ID, "arm_endpoint": s.url},
    _la_setup,
    "DELETE",
    LA_ID,
    {"api-version": "2023-09-01", "force": "true"},
    LA_ID,
    ("Log Analytics workspace 'amlabc1234-logs'", LA_ID),
    f"`az monitor log-analytics workspace delete --workspace-name amlabc1234-logs --resource-group {RG} "
    f"--subscription {SUB} --force true --yes`",
    "deleted",
)
KV = Case(
    "key-vault",
    KeyVaultPurgeProvider,
    lambda s: {
        "subscription_id": SUB,
        "resource_group_name": RG,
        "location": "westeurope",
        "vault_name": VAULT,
        "arm_endpoint": s.url,
    },
    _kv_setup,
    "POST",
    DELETED_VAULT + "/purge",
    {"api-version": "2023-07-01"},
    DELETED_VAULT,
    (f"Key Vault '{VAULT}'", SUB),
    f"`az keyvault purge --name {VAULT} --location westeurope --subscription {SUB}`",
    "purged",
)
CASES = [ML, LA, KV]
by_name = pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)


def created_outs(case: Case, server) -> dict[str, Any]:
    """Create as the engine does and return the outputs as the engine hands them back."""
    return to_wire(case.provider(FAST).create(to_wire(case.inputs(server))).outs)


def writes(server) -> list[tuple[str, str, dict[str, str]]]:
    return [(r.method, r.path, r.query) for r in server.writes()]


# ----------------------------------------------------------------------------- create / update send nothing


@by_name
def test_create_records_the_inputs_and_sends_nothing(fake, credential, case):
    case.setup(fake)
    fake.reset_log()

    result = case.provider(FAST).create(to_wire(case.inputs(fake)))

    assert fake.requests == [] and credential.scopes == []
    expected = dict(case.inputs(fake))
    if case is ML:
        expected["workspace_name"] = "amlabc1234"
    assert result.outs == expected
    assert to_wire(result.outs) == result.outs  # plain JSON, nothing lost on the wire
    assert case.still_there(fake)  # nothing was removed


@by_name
def test_update_and_diff_send_nothing_and_survive_the_wire(fake, case):
    provider = case.provider(FAST)
    created = provider.create(to_wire(case.inputs(fake)))
    olds = to_wire(created.outs)
    news = to_wire(case.inputs(fake))

    same = provider.diff(created.id, olds, news)
    moved = provider.diff(created.id, olds, to_wire({**case.inputs(fake), "arm_endpoint": None}))
    updated = provider.update(
        created.id, olds, to_wire({**case.inputs(fake), "arm_endpoint": None})
    )

    assert same.changes is False and same.replaces is None
    assert moved.changes is True and moved.replaces is None and moved.diffs == ["arm_endpoint"]
    expected = {k: v for k, v in case.inputs(fake).items() if k != "arm_endpoint"}
    if case is ML:
        expected["workspace_name"] = "amlabc1234"
    assert updated.outs == expected
    assert fake.requests == []


def test_ids_and_names_compare_as_azure_does(fake):
    ml = MlWorkspacePurgeProvider(FAST)
    olds = created_outs(ML, fake)
    assert (
        ml.diff("id", olds, to_wire({**ML.inputs(fake), "workspace_id": ML_ID.upper()})).changes
        is False
    )
    other = ml.diff("id", olds, to_wire({**ML.inputs(fake), "workspace_id": ML_ID + "2"}))
    assert other.replaces == ["workspace_id"] and other.delete_before_replace is False
    unknown = ml.diff("id", olds, to_wire({**ML.inputs(fake), "workspace_id": UNKNOWN}))
    assert unknown.replaces == ["workspace_id"]

    kv = KeyVaultPurgeProvider(FAST)
    olds = created_outs(KV, fake)
    assert (
        kv.diff("id", olds, to_wire({**KV.inputs(fake), "location": "West Europe"})).changes
        is False
    )
    assert (
        kv.diff("id", olds, to_wire({**KV.inputs(fake), "vault_name": VAULT.upper()})).changes
        is False
    )
    renamed = kv.diff("id", olds, to_wire({**KV.inputs(fake), "vault_name": "kvother1"}))
    assert renamed.replaces == ["vault_name"] and renamed.delete_before_replace is False
    assert fake.requests == []


# ----------------------------------------------------------------------------- delete


@by_name
@pytest.mark.parametrize("arm_lro", ["async", "location", "sync"])
def test_delete_sends_the_permanent_removal_and_follows_it_to_the_end(
    fake, credential, case, arm_lro
):
    case.setup(fake)
    fake.lro_polls = 2
    if arm_lro == "sync":
        fake.arm_delete_mode = "sync"
    else:
        fake.arm_lro = arm_lro
    olds = created_outs(case, fake)
    fake.reset_log()

    assert case.provider(FAST).remove(olds) == case.outcome

    assert writes(fake) == [(case.method, case.path, case.query)]
    assert fake.purged == [case.purged] and fake.soft_deleted == {}
    assert not case.still_there(fake)
    polls = [r.path.split("/")[1] for r in fake.calls("GET", "^/arm")]
    expected_polls = {
        "async": ["armOperations"] * 3,
        "location": ["armOperationResults"] * 3,
        "sync": [],
    }
    assert polls == expected_polls[arm_lro]  # two "still running" answers, then done
    assert {r.authorization for r in fake.requests} == {f"Bearer {fs.ARM_TOKEN}"}
    assert set(credential.scopes) == {ARM_SCOPE} and credential.closed == 1


def test_key_vault_purge_looks_before_it_purges(fake):
    KV.setup(fake)
    KeyVaultPurgeProvider(FAST).delete("id", created_outs(KV, fake))
    assert [(r.method, r.path) for r in fake.requests if not r.path.startswith("/arm")] == [
        ("GET", DELETED_VAULT),
        ("POST", DELETED_VAULT + "/purge"),
    ]


def test_without_the_purge_the_workspace_would_stay_soft_deleted(fake):
    """Why the order matters: azure-native's plain DELETE leaves a soft-deleted workspace the purge cannot see."""
    ML.setup(fake)
    import requests

    plain = requests.delete(
        f"{fake.url}{ML_ID}?api-version=2025-06-01",
        verify=fake.ca_file,
        headers={"Authorization": f"Bearer {fs.ARM_TOKEN}"},
        timeout=5,
    )
    assert plain.status_code == 202 and ML_ID.lower() in fake.soft_deleted

    assert MlWorkspacePurgeProvider(FAST).remove(created_outs(ML, fake)) == "already gone"
    assert fake.purged == []


@by_name
@pytest.mark.parametrize("missing_status", [404, 204])
def test_already_gone_is_done(fake, case, missing_status):
    fake.arm_delete_missing_status = missing_status
    olds = created_outs(case, fake)

    outcome = case.provider(FAST).remove(olds)

    assert fake.purged == []
    if (
        case is KV
    ):  # nothing deleted, nothing live (and nothing appeared meanwhile): nothing to purge
        assert outcome == "nothing to purge" and fake.writes() == []
        assert [r.path for r in fake.requests] == [DELETED_VAULT, VAULT_ID, DELETED_VAULT]
    else:
        assert outcome == "already gone" and writes(fake) == [(case.method, case.path, case.query)]


# ----------------------------------------------------------------------------- faults

FAULTS = {
    "429-retry-after": dict(count=1, status=429, headers={"Retry-After": "0"}),
    "503-twice": dict(count=2, status=503),
    "dropped": dict(count=1, drop=True),
    "dropped-after-it-took-effect": dict(count=1, drop=True, after=True),
    "403-propagation": dict(count=3, status=403, body=fs.ARM_403_BODY),
}


@by_name
@pytest.mark.parametrize("fault", list(FAULTS))
def test_faults_are_ridden_out_with_exactly_one_effective_removal(fake, case, fault):
    case.setup(fake)
    olds = created_outs(case, fake)
    spec = FAULTS[fault]
    fake.fail(case.method, "^" + case.path.replace(".", r"\.") + "$", **spec)

    case.provider(FAST).delete("id", olds)

    assert fake.purged == [case.purged] and not case.still_there(fake)
    faulted = [r for r in fake.writes() if r.fault]
    assert len(faulted) == spec["count"]
    if fault == "dropped-after-it-took-effect":
        # The retry finds it gone: no second removal is attempted against something else.
        assert len(fake.writes()) == (1 if case is KV else 2)
    else:
        assert len(fake.writes()) == spec["count"] + 1


@by_name
def test_a_failing_poll_restarts_the_idempotent_removal(fake, case):
    case.setup(fake)
    fake.lro_polls = 1
    fake.fail("GET", "^/armOperations/", count=1, status=503)
    olds = created_outs(case, fake)

    case.provider(FAST).delete("id", olds)

    # The second attempt finds it gone (a DELETE answered 404, or a look at the vaults): removed once.
    assert fake.purged == [case.purged]
    assert len(fake.writes()) == (1 if case is KV else 2)


def test_key_vault_lookups_are_retried_too(fake):
    KV.setup(fake)
    fake.fail("GET", "deletedVaults", count=2, status=429, headers={"Retry-After": "0"})
    KeyVaultPurgeProvider(FAST).delete("id", created_outs(KV, fake))
    assert fake.purged == [DELETED_VAULT]


@by_name
def test_faults_outlasting_the_bound_end_in_an_error_naming_what_is_left_and_the_manual_command(
    fake, case
):
    case.setup(fake)
    olds = created_outs(case, fake)
    fake.fail(case.method, "^" + case.path.replace(".", r"\.") + "$", count=100, status=503)

    with pytest.raises(DataPlaneError) as caught:
        case.provider(FAST).delete("id", olds)

    message = str(caught.value)
    assert f"gave up after {FAST.max_attempts} attempt(s)" in message and "HTTP 503" in message
    for name in case.names:
        assert name in message
    assert "Left behind" in message and case.manual in message and "pulumi destroy" in message
    assert caught.value.status == 503 and caught.value.attempts == FAST.max_attempts
    assert fake.purged == [] and case.still_there(fake)


def test_a_refusal_is_not_retried(fake):
    ML.setup(fake)
    fake.fail(
        "DELETE",
        "workspaces",
        count=100,
        status=400,
        body={"error": {"code": "BadRequest", "message": "workspace has a private endpoint"}},
    )

    with pytest.raises(
        DataPlaneError, match="failed: HTTP 400.*BadRequest: workspace has a private endpoint"
    ) as caught:
        MlWorkspacePurgeProvider(FAST).delete("id", created_outs(ML, fake))

    assert caught.value.attempts == 1 and ML.manual in str(caught.value)


@by_name
def test_an_operation_that_ends_failed_is_reported_with_the_manual_command(fake, case):
    case.setup(fake)
    fake.arm_operations_fail = 1

    with pytest.raises(DataPlaneError) as caught:
        case.provider(FAST).delete("id", created_outs(case, fake))

    message = str(caught.value)
    assert (
        "the operation ended Failed (InternalServerError: injected: the operation failed)"
        in message
    )
    assert case.manual in message
    assert len(fake.writes()) == 1 and case.still_there(fake) and fake.purged == []


def test_an_operation_that_never_ends_hits_the_time_budget(fake):
    ML.setup(fake)
    fake.lro_polls = 10**6
    budget = RetrySettings(
        max_attempts=3,
        max_total_seconds=0.5,
        initial_delay=0.001,
        max_delay=0.01,
        polling_interval=0.01,
        connection_timeout=2.0,
        read_timeout=2.0,
    )

    with pytest.raises(DataPlaneError, match="did not finish within the time budget") as caught:
        MlWorkspacePurgeProvider(budget).delete("id", created_outs(ML, fake))
    assert ML.manual in str(caught.value)


# ----------------------------------------------------------------------------- the Key Vault race


def test_a_vault_still_being_deleted_is_waited_for_then_purged(fake):
    fake.add_arm_resource(VAULT_ID, "westeurope")
    fake.delete_vault(VAULT_ID, live_gets=3)  # still visible for three more GETs

    assert KeyVaultPurgeProvider(FAST).remove(created_outs(KV, fake)) == "purged"

    paths = [r.path for r in fake.requests if not r.path.startswith("/arm")]
    assert paths == [DELETED_VAULT, VAULT_ID] * 4 + [DELETED_VAULT, DELETED_VAULT + "/purge"]
    assert fake.purged == [DELETED_VAULT] and fake.deleted_vaults == {}


def test_a_vault_that_is_never_deleted_is_not_purged_and_the_order_is_named(fake):
    fake.add_arm_resource(VAULT_ID, "westeurope")
    provider = KeyVaultPurgeProvider(FAST)

    with pytest.raises(DataPlaneError) as caught:
        provider.delete("id", created_outs(KV, fake))

    message = str(caught.value)
    assert f"Key Vault '{VAULT}'" in message and "still exists" in message and "depend" in message
    assert (
        KV.manual in message
        and f"az keyvault delete --name {VAULT} --resource-group {RG}" in message
    )
    assert fake.writes() == [] and fake.arm_exists(VAULT_ID)
    assert len(fake.calls("GET", "/vaults/")) == provider.live_vault_checks


# ----------------------------------------------------------------------------- what is checked before anything is sent


@pytest.mark.parametrize(
    "provider, bad",
    [
        (
            MlWorkspacePurgeProvider,
            f"/subscriptions/{SUB}/resourceGroups/{RG}",
        ),  # a resource group: never DELETE that
        (MlWorkspacePurgeProvider, LA_ID),
        (LogAnalyticsForceDeleteProvider, ML_ID),
        (MlWorkspacePurgeProvider, ML_ID + "/computes/cpu"),
        (MlWorkspacePurgeProvider, ML_ID + "?x=1"),
    ],
)
def test_only_the_right_kind_of_id_is_accepted(fake, provider, bad):
    check = provider(FAST).check({}, to_wire({"workspace_id": bad, "arm_endpoint": fake.url}))
    assert [f.property for f in check.failures] == ["workspace_id"]
    with pytest.raises(ValueError, match="workspace_id"):
        provider(FAST).delete("id", to_wire({"workspace_id": bad, "arm_endpoint": fake.url}))
    assert fake.requests == []


def test_check_passes_good_and_unknown_values_and_names_bad_ones(fake):
    kv = KeyVaultPurgeProvider(FAST)
    assert kv.check({}, to_wire(KV.inputs(fake))).failures == []
    assert MlWorkspacePurgeProvider(FAST).check({}, {"workspace_id": UNKNOWN}).failures == []
    assert (
        kv.check({}, {**KV.inputs(fake), "vault_name": UNKNOWN, "location": UNKNOWN}).failures == []
    )
    bad = {
        **KV.inputs(fake),
        "vault_name": "kv/../x",
        "location": "west/europe",
        "arm_endpoint": "http://x",
    }
    assert sorted(f.property for f in kv.check({}, bad).failures) == [
        "arm_endpoint",
        "location",
        "vault_name",
    ]


# ----------------------------------------------------------------------------- the engine's path to the providers


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: dict[str, pulumi.runtime.MockResourceArgs] = {}

    def new_resource(self, args):
        self.resources[args.name] = args
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args):
        return {}, None


def test_declared_resources_decode_and_drive_the_fake_from_the_program_inputs(fake):
    mocks = _Mocks()
    pulumi.runtime.set_mocks(mocks, preview=False)
    fake.add_arm_resource(ML_ID)
    fake.add_arm_resource(LA_ID)
    _kv_setup(fake)

    @pulumi.runtime.test
    def program():
        ml = MlWorkspacePurge("s1-ml-purge", workspace_id=ML_ID, arm_endpoint=fake.url, retry=FAST)
        la = LogAnalyticsForceDelete(
            "s1-logs-force-delete", workspace_id=LA_ID, arm_endpoint=fake.url, retry=FAST
        )
        kv = KeyVaultPurge(
            "s1-kv-purge",
            subscription_id=SUB,
            location="westeurope",
            vault_name=VAULT,
            resource_group_name=RG,
            arm_endpoint=fake.url,
            retry=FAST,
        )
        return pulumi.Output.all(ml.workspace_id, la.workspace_id, kv.vault_name)

    program()
    assert {n: a.typ for n, a in mocks.resources.items()} == {
        "s1-ml-purge": "pulumi-python:dynamic/synapse-ml-lab:MlWorkspacePurge",
        "s1-logs-force-delete": "pulumi-python:dynamic/synapse-ml-lab:LogAnalyticsForceDelete",
        "s1-kv-purge": "pulumi-python:dynamic/synapse-ml-lab:KeyVaultPurge",
    }
    assert fake.requests == []
    for name in ("s1-ml-purge", "s1-logs-force-delete", "s1-kv-purge"):
        registered = mocks.resources[name]
        raw = base64.b64decode(registered.inputs["__provider"])
        assert b"providers.arm.purges" in raw and len(raw) < 2000  # by reference
        provider = dill.loads(raw)
        news = to_wire({k: v for k, v in registered.inputs.items() if k != "__provider"})
        assert provider.check({}, news).failures == []
        created = provider.create(news)
        assert provider.diff(created.id, to_wire(created.outs), news).changes is False
        provider.delete(created.id, to_wire(created.outs))
    assert fake.purged == [ML_ID, LA_ID, DELETED_VAULT]
    assert [r.method for r in fake.writes()] == ["DELETE", "DELETE", "POST"]
