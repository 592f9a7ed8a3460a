"""The subscription's resource provider registration, over real HTTPS against the fake ARM.

Driven the way the engine drives it: inputs and old outputs through ``to_wire``.
"""

from __future__ import annotations

import pytest

from lab.azure_namespaces import REQUIRED_NAMESPACES
from providers.arm.registration import (
    ResourceProviderRegistrationProvider,
    refusal_message,
)
from providers.base import UNKNOWN
from providers.client import DataPlaneError
from tests.fakes.arm import FakeArm
from tests.fakes.synapse import FAST, to_wire, trust_fake

SUB = "0f0f0f0f-1111-2222-3333-444444444444"


@pytest.fixture
def arm(tls_files, credential, monkeypatch: pytest.MonkeyPatch):
    trust_fake(monkeypatch, tls_files[0])
    with FakeArm(tls_files, registering_reads=2) as server:
        yield server


def inputs(server, namespaces=REQUIRED_NAMESPACES) -> dict:
    return to_wire(
        {"subscription_id": SUB, "namespaces": list(namespaces), "arm_endpoint": server.url}
    )


def provider() -> ResourceProviderRegistrationProvider:
    return ResourceProviderRegistrationProvider(FAST)


def test_unregistered_namespaces_are_registered_and_polled_until_registered(arm):
    arm.add_subscription(SUB, registered=("Microsoft.Storage",))
    result = provider().create(inputs(arm))

    assert result.outs["states"] == dict.fromkeys(REQUIRED_NAMESPACES, "Registered")
    posted = sorted(ns for sub, ns in arm.registered_by_post if sub == SUB)
    # Every required namespace but the one already registered: a POST each.
    assert posted == sorted(set(REQUIRED_NAMESPACES) - {"Microsoft.Storage"})
    assert arm.state(SUB, "Microsoft.Synapse") == "Registered"
    # Each was seen Registering (2 reads) before Registered: polled, not assumed.
    synapse_reads = [
        r for r in arm.calls("GET", r"/providers/Microsoft\.Synapse$") if r.query.get("api-version")
    ]
    assert len(synapse_reads) >= 1 + 3
    # The already registered one cost exactly one read and no write.
    assert len(arm.calls("GET", r"/providers/Microsoft\.Storage$")) == 1
    assert arm.calls("POST", r"/providers/Microsoft\.Storage/register") == []
    assert result.id == f"/subscriptions/{SUB}/providers#registration"
    assert {k: v for k, v in result.outs.items() if k != "states"} == {
        "subscription_id": SUB,
        "namespaces": list(REQUIRED_NAMESPACES),
        "arm_endpoint": arm.url,
    }


def test_already_registered_namespaces_cost_one_read_each_and_no_write(arm):
    arm.add_subscription(SUB, registered=REQUIRED_NAMESPACES)
    provider().create(inputs(arm))
    assert arm.writes() == []
    assert len(arm.calls("GET")) == len(REQUIRED_NAMESPACES)


def test_a_refused_registration_names_the_namespace_and_who_can_register_it(arm):
    arm.add_subscription(
        SUB,
        registered=("Microsoft.Storage",),
        actions=("*",),
        not_actions=("Microsoft.Synapse/register/action",),
    )
    with pytest.raises(Exception) as raised:
        provider().create(inputs(arm, ("Microsoft.Storage", "Microsoft.Synapse")))
    message = str(raised.value)
    assert "'Microsoft.Synapse'" in message and SUB in message
    assert "Microsoft.Synapse/register/action" in message
    assert "Contributor or Owner" in message
    assert f"az provider register --namespace Microsoft.Synapse --subscription {SUB}" in message
    # A refusal is final: one POST, not retried.
    assert len(arm.calls("POST", r"Microsoft\.Synapse/register")) == 1
    assert arm.state(SUB, "Microsoft.Synapse") == "NotRegistered"


def test_throttling_and_server_errors_are_retried(arm):
    arm.add_subscription(SUB)
    arm.fail("GET", r"/providers/Microsoft\.KeyVault$", status=429, headers={"Retry-After": "0"})
    arm.fail("POST", r"/providers/Microsoft\.KeyVault/register", status=503)
    arm.fail("GET", r"/providers/Microsoft\.Sql$", drop=True)
    result = provider().create(inputs(arm, ("Microsoft.KeyVault", "Microsoft.Sql")))
    assert result.outs["states"] == {
        "Microsoft.KeyVault": "Registered",
        "Microsoft.Sql": "Registered",
    }
    assert [r.fault for r in arm.calls(None, "KeyVault") if r.fault] == ["status:429", "status:503"]


def test_a_namespace_that_never_finishes_registering_gives_up_with_what_is_pending(arm):
    arm.add_subscription(SUB)
    arm.registering_reads = 10_000
    slow = ResourceProviderRegistrationProvider(
        type(FAST)(**{**FAST.__dict__, "max_total_seconds": 0.3, "polling_interval": 0.05})
    )
    with pytest.raises(DataPlaneError, match=r"still Microsoft\.Synapse \(Registering\)"):
        slow.create(inputs(arm, ("Microsoft.Synapse",)))


def test_delete_never_unregisters(arm):
    arm.add_subscription(SUB, registered=REQUIRED_NAMESPACES)
    outs = provider().create(inputs(arm)).outs
    arm.reset_log()
    assert provider().delete(f"/subscriptions/{SUB}/providers#registration", to_wire(outs)) is None
    assert arm.requests == []
    assert all(arm.state(SUB, ns) == "Registered" for ns in REQUIRED_NAMESPACES)


def test_read_reports_drift_and_the_next_diff_registers_again(arm):
    arm.add_subscription(SUB, registered=REQUIRED_NAMESPACES)
    outs = to_wire(provider().create(inputs(arm)).outs)
    assert not provider().diff("id", outs, inputs(arm)).changes

    arm.registrations[SUB]["microsoft.insights"]["state"] = (
        "NotRegistered"  # someone unregistered it
    )
    read = provider().read("id", outs)
    assert read.id == "id" and read.outs["states"]["Microsoft.Insights"] == "NotRegistered"
    diff = provider().diff("id", to_wire(read.outs), inputs(arm))
    assert diff.changes and "states.Microsoft.Insights" in diff.diffs

    updated = provider().update("id", to_wire(read.outs), inputs(arm))
    assert updated.outs["states"]["Microsoft.Insights"] == "Registered"
    assert arm.calls("POST", r"Microsoft\.Insights/register")


def test_read_of_a_subscription_that_is_gone_drops_it(arm):
    arm.add_subscription(SUB, registered=REQUIRED_NAMESPACES)
    outs = to_wire(provider().create(inputs(arm)).outs)
    del arm.registrations[SUB]
    assert provider().read("id", outs).id is None


def test_diff_adding_a_namespace_updates_another_subscription_replaces():
    old = to_wire(
        {
            "subscription_id": SUB,
            "namespaces": ["Microsoft.Storage"],
            "states": {"Microsoft.Storage": "Registered"},
        }
    )
    same = provider().diff(
        "id", old, to_wire({"subscription_id": SUB.upper(), "namespaces": ["microsoft.storage"]})
    )
    assert not same.changes
    more = provider().diff(
        "id",
        old,
        to_wire({"subscription_id": SUB, "namespaces": ["Microsoft.Storage", "Microsoft.Sql"]}),
    )
    assert more.changes and not more.replaces
    other = provider().diff(
        "id", old, to_wire({"subscription_id": "1" + SUB[1:], "namespaces": ["Microsoft.Storage"]})
    )
    assert other.replaces == ["subscription_id"] and other.delete_before_replace is False


def test_check_names_the_wrong_input_and_waits_for_unknowns():
    bad = provider().check({}, {"subscription_id": "not-a-guid", "namespaces": ["Microsoft..X"]})
    assert sorted(f.property for f in bad.failures) == ["namespaces", "subscription_id"]
    preview = provider().check({}, {"subscription_id": UNKNOWN, "namespaces": ["Microsoft.Sql"]})
    assert preview.failures == []


def test_the_refusal_message_says_who_can_register():
    text = refusal_message(SUB, "Microsoft.Insights", "AuthorizationFailed")
    assert (
        "AuthorizationFailed" in text
        and "az provider register --namespace Microsoft.Insights" in text
    )


def test_the_program_s_inputs_drive_the_provider_the_engine_decodes(arm):
    """Under mocks: what the resource sends the engine (inputs, the provider pickled by
    reference) decodes in a fresh process and registers against the fake ARM."""
    import base64
    import subprocess
    import sys
    import threading
    from pathlib import Path

    import pulumi

    from providers.arm import ResourceProviderRegistration

    class Recording(pulumi.runtime.Mocks):
        def __init__(self):
            self.lock, self.inputs = threading.Lock(), {}

        def new_resource(self, args):
            with self.lock:
                self.inputs[args.name] = dict(args.inputs)
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return {}, None

    mocks = Recording()
    pulumi.runtime.set_mocks(mocks, preview=False)

    @pulumi.runtime.test
    def program():
        return ResourceProviderRegistration(
            "default-subscription-providers",
            subscription_id=SUB,
            namespaces=["Microsoft.Synapse", "Microsoft.Sql"],
            arm_endpoint=arm.url,
            retry=FAST,
        ).namespaces

    program()
    sent = mocks.inputs["default-subscription-providers"]
    blob = sent.pop("__provider")
    assert b"providers.arm.registration" in base64.b64decode(blob)
    arm.add_subscription(SUB)
    script = (
        "import base64, json, sys, dill\n"
        "from tests.fakes.synapse import FakeCredential\n"
        "from providers import client\n"
        "client.make_credential = FakeCredential\n"
        "data = json.loads(sys.stdin.read())\n"
        "provider = dill.loads(base64.b64decode(data['blob']))\n"
        "print(json.dumps(provider.create(data['inputs']).outs['states'], sort_keys=True))\n"
    )
    import json

    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps({"blob": blob, "inputs": to_wire(sent)}),
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "Microsoft.Sql": "Registered",
        "Microsoft.Synapse": "Registered",
    }
    assert arm.state(SUB, "Microsoft.Synapse") == "Registered"
