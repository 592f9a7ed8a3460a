"""Faults: throttling, server errors, dropped connections, timeouts and 403 propagation.

Each recovery test checks that nothing is duplicated or lost (the fake stores
exactly the artifacts declared, the number of PUTs is what the faults explain);
each exhaustion test checks the one clear error and that the bounds held.
"""

from __future__ import annotations

import dataclasses
import random
import time

import pytest
from azure.core.exceptions import ServiceResponseError

from providers.client import CallContext, DataPlaneError, RetrySettings, call_with_retries
from providers.synapse.artifacts import (
    SMALL_NODE_SESSION,
    WorkspaceArtifactsProvider,
    content_sha256,
    notebook_body,
)
from providers.synapse.linked_service import AzureMLLinkedServiceProvider
from tests.fakes import synapse as fs
from tests.fakes.synapse import FAST, to_wire, write_notebook

WORKSPACE = "synapsetest01"


def notebook_inputs(server, tmp_path, names=("01-load-data",)):
    for name in names:
        write_notebook(tmp_path / f"{name}.ipynb", {"data_lake_account": "datalakexxxxxxx"})
    inputs = {
        "workspace_name": WORKSPACE,
        "endpoint": server.url,
        "spark_pool_name": "sparkabc1234",
        "session": dict(SMALL_NODE_SESSION),
        "parameters": {"data_lake_account": "datalakeabc1234"},
        "notebooks": {name: {"path": f"{name}.ipynb"} for name in names},
    }
    for entry in inputs["notebooks"].values():
        entry["sha256"] = content_sha256(notebook_body(entry, inputs))
    return inputs


def linked_service_inputs(server):
    return {
        "workspace_name": WORKSPACE,
        "linked_service_name": "AzureML",
        "subscription_id": "sub",
        "resource_group_name": "rg",
        "ml_workspace_name": "amlabc1234",
        "endpoint": server.url,
    }


def assert_single_notebook(server, name="01-load-data"):
    assert list(server.artifacts["notebooks"]) == [name]
    stored = server.artifacts["notebooks"][name]["properties"]
    assert stored["cells"][1]["source"][1] == "data_lake_account = 'datalakeabc1234'"


# ----------------------------------------------------------------------------- recovery


@pytest.mark.parametrize("status", [429, 500, 503])
def test_recovers_from_throttling_and_server_errors(fake, tmp_path, status):
    fake.fail("PUT", r"^/notebooks/", count=2, status=status, headers={"Retry-After": "0"})

    WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path)))

    puts = fake.calls("PUT", "/notebooks/")
    assert [p.fault for p in puts] == [f"status:{status}", f"status:{status}", None]
    assert_single_notebook(fake)


def test_429_retry_after_is_honoured(fake, tmp_path):
    fake.fail("PUT", r"^/linkedservices/", count=1, status=429, headers={"Retry-After": "0.4"})
    started = time.monotonic()

    AzureMLLinkedServiceProvider(FAST).create(to_wire(linked_service_inputs(fake)))

    # FAST's own backoff is milliseconds: only the header explains the wait.
    assert time.monotonic() - started >= 0.4
    assert len(fake.calls("PUT")) == 2 and list(fake.artifacts["linkedservices"]) == ["AzureML"]


@pytest.mark.parametrize("after", [False, True], ids=["lost-request", "lost-answer"])
def test_recovers_from_dropped_connections(fake, tmp_path, after):
    # after=True: the PUT took effect and only the answer was lost; the retried PUT
    # by name must not leave two copies.
    fake.fail("PUT", r"^/notebooks/", count=1, drop=True, after=after)

    WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path)))

    assert [p.fault for p in fake.calls("PUT")] == ["drop", None]
    assert_single_notebook(fake)


def test_recovers_from_a_read_timeout(fake, tmp_path):
    settings = dataclasses.replace(FAST, read_timeout=0.3)
    fake.fail("PUT", r"^/linkedservices/", count=1, delay=1.0, after=True)

    AzureMLLinkedServiceProvider(settings).create(to_wire(linked_service_inputs(fake)))

    assert len(fake.calls("PUT")) == 2
    assert list(fake.artifacts["linkedservices"]) == ["AzureML"]


def test_a_failure_while_polling_repeats_the_idempotent_put(fake, tmp_path):
    fake.fail("GET", r"^/operationResults/", count=1, status=500)
    fake.fail("GET", r"^/operationResults/", count=1, drop=True)

    WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path)))

    assert len(fake.calls("PUT")) == 3
    assert_single_notebook(fake)


@pytest.mark.parametrize("body", [fs.FIREWALL_403_BODY, fs.RBAC_403_BODY], ids=["firewall", "rbac"])
def test_recovers_from_403_while_access_propagates(fake, tmp_path, body):
    fake.fail("PUT", r"^/notebooks/", count=3, status=403, body=body)

    WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path, ("a", "b"))))

    # Only the first artifact met the 403s; the second went through at once.
    assert [(p.path, p.fault) for p in fake.calls("PUT")] == [
        ("/notebooks/a", "status:403"),
        ("/notebooks/a", "status:403"),
        ("/notebooks/a", "status:403"),
        ("/notebooks/a", None),
        ("/notebooks/b", None),
    ]
    assert sorted(fake.artifacts["notebooks"]) == ["a", "b"]


def test_delete_recovers_and_counts_404_as_done(fake, tmp_path):
    provider = WorkspaceArtifactsProvider(FAST)
    created = provider.create(to_wire(notebook_inputs(fake, tmp_path)))
    fake.fail("DELETE", r"^/notebooks/", count=1, status=503)
    fake.fail(
        "DELETE", r"^/notebooks/", count=1, drop=True, after=True
    )  # deleted, answer lost -> 404 next

    provider.delete(created.id, to_wire(created.outs))

    assert [p.fault for p in fake.calls("DELETE")] == ["status:503", "drop", None]
    assert fake.artifacts["notebooks"] == {}


# ----------------------------------------------------------------------------- exhaustion: one clear error


def test_firewall_403_that_outlasts_the_bound_names_the_deployer_ip_config(fake, tmp_path):
    fake.fail("PUT", r"^/notebooks/", count=100, status=403, body=fs.FIREWALL_403_BODY)

    with pytest.raises(DataPlaneError) as caught:
        WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path)))

    message = str(caught.value)
    assert caught.value.status == 403 and caught.value.attempts == FAST.max_attempts
    assert len(fake.calls("PUT")) == FAST.max_attempts
    assert f"Synapse workspace '{WORKSPACE}'" in message
    assert "notebook '01-load-data'" in message
    assert "ClientIpAddressNotAuthorized" in message
    assert "blocked by the workspace firewall" in message
    assert "lab:deployerIpAddress" in message
    assert fake.artifacts["notebooks"] == {}


def test_rbac_403_that_outlasts_the_bound_names_the_synapse_administrator_role(fake, tmp_path):
    fake.fail("PUT", r"^/linkedservices/", count=100, status=403, body=fs.RBAC_403_BODY)

    with pytest.raises(DataPlaneError) as caught:
        AzureMLLinkedServiceProvider(FAST).create(to_wire(linked_service_inputs(fake)))

    message = str(caught.value)
    assert "linked service 'AzureML'" in message and f"'{WORKSPACE}'" in message
    assert "Synapse Administrator" in message and "propagate" in message
    assert "lab:deployerIpAddress" not in message
    assert f"gave up after {FAST.max_attempts} attempt(s)" in message


def test_the_time_bound_stops_retrying_before_the_attempt_bound(fake, tmp_path):
    settings = RetrySettings(
        max_attempts=50,
        max_total_seconds=0.5,
        initial_delay=0.1,
        max_delay=0.1,
        polling_interval=0.001,
        connection_timeout=2,
        read_timeout=2,
    )
    fake.fail("PUT", r"^/linkedservices/", count=1000, status=503)
    started = time.monotonic()

    with pytest.raises(DataPlaneError, match="gave up after .* HTTP 503") as caught:
        AzureMLLinkedServiceProvider(settings).create(to_wire(linked_service_inputs(fake)))

    assert time.monotonic() - started < 2.0
    assert 1 < caught.value.attempts < 50
    assert len(fake.calls("PUT")) == caught.value.attempts


def test_a_retry_after_longer_than_the_budget_fails_at_once(fake, tmp_path):
    settings = dataclasses.replace(FAST, max_total_seconds=1.0)
    fake.fail("PUT", r"^/linkedservices/", count=5, status=429, headers={"Retry-After": "60"})
    started = time.monotonic()

    with pytest.raises(DataPlaneError, match="throttling"):
        AzureMLLinkedServiceProvider(settings).create(to_wire(linked_service_inputs(fake)))

    assert time.monotonic() - started < 1.0 and len(fake.calls("PUT")) == 1


def test_a_bad_request_is_not_retried(fake, tmp_path):
    fake.fail(
        "PUT",
        r"^/notebooks/",
        count=1,
        status=400,
        body={"error": {"code": "BadRequest", "message": "cell source is invalid"}},
    )

    with pytest.raises(
        DataPlaneError, match="failed: HTTP 400.*BadRequest: cell source is invalid"
    ) as caught:
        WorkspaceArtifactsProvider(FAST).create(to_wire(notebook_inputs(fake, tmp_path)))

    assert caught.value.attempts == 1 and len(fake.calls("PUT")) == 1


def test_an_unreachable_endpoint_fails_with_a_network_hint(fake, tmp_path):
    inputs = {
        **linked_service_inputs(fake),
        "endpoint": "https://127.0.0.1:9",
    }  # nothing listens there

    with pytest.raises(DataPlaneError, match="could not be reached") as caught:
        AzureMLLinkedServiceProvider(FAST).create(to_wire(inputs))
    assert caught.value.attempts == FAST.max_attempts


def test_no_credential_fails_at_once_with_a_sign_in_hint(fake, monkeypatch):
    from azure.core.exceptions import ClientAuthenticationError

    from providers import client as _client

    class NoCredential:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token")

    monkeypatch.setattr(_client, "make_credential", NoCredential)

    with pytest.raises(DataPlaneError, match="az login") as caught:
        AzureMLLinkedServiceProvider(FAST).create(to_wire(linked_service_inputs(fake)))
    assert caught.value.attempts == 1 and fake.requests == []


# ----------------------------------------------------------------------------- the loop itself


def test_backoff_is_exponential_with_full_jitter_and_capped():
    sleeps: list[float] = []
    settings = RetrySettings(
        max_attempts=6, max_total_seconds=1e9, initial_delay=1.0, max_delay=5.0
    )

    def operation(_left):
        raise ServiceResponseError("connection reset")

    with pytest.raises(DataPlaneError):
        call_with_retries(
            operation,
            CallContext("do x", "somewhere"),
            settings,
            sleep=sleeps.append,
            rng=random.Random(7),
        )

    caps = [1.0, 2.0, 4.0, 5.0, 5.0]
    assert len(sleeps) == 5
    assert all(0.0 <= s <= cap for s, cap in zip(sleeps, caps, strict=True))
    assert len(set(sleeps)) == 5  # jittered, not fixed
    # With another seed the same bounds hold but the values differ.
    other: list[float] = []
    with pytest.raises(DataPlaneError):
        call_with_retries(
            operation,
            CallContext("do x", "somewhere"),
            settings,
            sleep=other.append,
            rng=random.Random(8),
        )
    assert other != sleeps


def test_the_default_settings_ride_out_several_minutes_of_propagation():
    settings = RetrySettings()
    assert settings.max_attempts == 8 and settings.max_total_seconds == 600
    worst_case = sum(
        min(settings.max_delay, settings.initial_delay * 2**n)
        for n in range(settings.max_attempts - 1)
    )
    assert 300 <= worst_case <= settings.max_total_seconds
    assert settings.client_kwargs()["retry_total"] == 0  # the SDK's own retries are off
    assert settings.client_kwargs()["polling_interval"] == 2.0
