"""The sign-in of a long CI job: tokens keep coming after GitHub's first ID token has expired.

A fake GitHub OIDC provider and a fake Entra token endpoint (tests/fakes/entra.py) on
127.0.0.1 over HTTPS, with a simulated clock that the credentials read too (time.time
is patched): the test jumps hours ahead without sleeping. The credential under test is
the real azure-identity one that providers/credentials.py builds; the "CLI session"
beside it is what `azure/login` with OIDC leaves (`az login --federated-token` keeps
the one ID token of the login step, Azure/azure-cli#28708), and it fails as Azure
fails it (AADSTS700024).
"""

from __future__ import annotations

import time

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.core.pipeline import Pipeline
from azure.core.pipeline.policies import BearerTokenCredentialPolicy
from azure.core.pipeline.transport import HttpRequest, RequestsTransport

from providers import client as provider_client
from providers import credentials
from providers.client import ARM_SCOPE, SYNAPSE_SCOPE
from tests.fakes.entra import GITHUB_TOKEN_SECONDS, FakeEntra, SimClock
from tests.fakes.synapse import make_tls_files

STORAGE_SCOPE = "https://storage.azure.com/.default"


@pytest.fixture(scope="module")
def entra_tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("fake-entra-tls"))


@pytest.fixture
def clock(monkeypatch) -> SimClock:
    simulated = SimClock()
    # azure-identity, MSAL's token cache and azure-core's bearer policy all age tokens by time.time.
    monkeypatch.setattr(time, "time", simulated.time)
    return simulated


@pytest.fixture
def entra(entra_tls, clock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", entra_tls[0])
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeEntra(entra_tls, clock) as server:
        for name, value in server.runner_environment().items():
            monkeypatch.setenv(name, value)
        yield server


def call_resource(credential, scope: str, url: str) -> int:
    """One call through azure-core's bearer-token policy, as every SDK client makes it."""
    pipeline = Pipeline(RequestsTransport(), [BearerTokenCredentialPolicy(credential, scope)])
    with pipeline:
        response = pipeline.run(HttpRequest("GET", url)).http_response
    return response.status_code


def cli_session(entra: FakeEntra):
    """What `azure/login` (OIDC) leaves: a login made once with the ID token of the login step."""
    from azure.identity import ClientAssertionCredential

    login_token = credentials.github_id_token_fetcher()()
    return ClientAssertionCredential(
        entra.tenant, entra.client_id, lambda: login_token, authority=entra.url
    )


def test_tokens_keep_coming_long_after_the_first_id_token_expired(entra, clock):
    credential = credentials.make_credential()
    assert type(credential).__name__ == "ClientAssertionCredential"
    session = cli_session(entra)

    # Right after login both sign in to ARM.
    assert call_resource(credential, ARM_SCOPE, entra.resource_url(ARM_SCOPE)) == 200
    assert call_resource(session, ARM_SCOPE, entra.resource_url(ARM_SCOPE)) == 200

    # Minutes later the program's first data-plane call asks for a Synapse token.
    clock.advance(GITHUB_TOKEN_SECONDS + 240)
    assert call_resource(credential, SYNAPSE_SCOPE, entra.resource_url(SYNAPSE_SCOPE)) == 200
    with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
        session.get_token(SYNAPSE_SCOPE)

    # Well past the first hour: the ARM token of the start has expired at the resource too.
    for hours in (1, 2):
        clock.advance(3600)
        for scope in (ARM_SCOPE, SYNAPSE_SCOPE, STORAGE_SCOPE):
            assert call_resource(credential, scope, entra.resource_url(scope)) == 200, (
                hours,
                scope,
            )
    with pytest.raises(ClientAuthenticationError, match="AADSTS700024"):
        session.get_token(ARM_SCOPE)

    # Every Entra token asked for by the OIDC credential came from a fresh GitHub ID token.
    issued = [r for r in entra.token_requests if r["outcome"] == "issued"]
    refused = [r for r in entra.token_requests if r["outcome"] != "issued"]
    assert {r["scope"] for r in issued} == {ARM_SCOPE, SYNAPSE_SCOPE, STORAGE_SCOPE}
    assert len(issued) == 1 + 1 + 3 + 3 + 1  # start x2 (both), Synapse, hour 1, hour 2
    assert refused == [
        {"scope": SYNAPSE_SCOPE, "outcome": "AADSTS700024"},
        {"scope": ARM_SCOPE, "outcome": "AADSTS700024"},
    ]
    assert entra.github_tokens_issued == len(issued)  # the session's one + one per OIDC request


def test_a_token_kept_past_its_expiry_is_refused_by_the_resource(entra, clock):
    """The fake resource is strict: an access token that outlived its hour gets a 401."""
    credential = credentials.make_credential()
    token = credential.get_token(ARM_SCOPE).token
    clock.advance(3600)
    status, body = entra.resource("management.azure.com", f"Bearer {token}")
    assert status == 401 and body["error"]["code"] == "ExpiredAuthenticationToken"
    status, body = entra.resource("dev.azuresynapse.net", f"Bearer {token}")
    assert status == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


def test_the_providers_and_the_classroom_tools_use_the_same_credential(entra, monkeypatch):
    from classroom.checking import status

    for made in (provider_client.make_credential(), status._credential()):
        assert type(made).__name__ == "ClientAssertionCredential"
        assert call_resource(made, SYNAPSE_SCOPE, entra.resource_url(SYNAPSE_SCOPE)) == 200


def test_a_wrong_federated_subject_is_refused_with_entras_code(entra):
    entra.subject = "repo:someone-else/fork:ref:refs/heads/main"
    with pytest.raises(ClientAuthenticationError, match="AADSTS700213"):
        credentials.make_credential().get_token(ARM_SCOPE)


def test_without_id_token_permission_github_says_so(entra, monkeypatch):
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "not-the-runner-token")
    with pytest.raises(credentials.CredentialError, match="id-token: write"):
        credentials.github_id_token_fetcher()()


@pytest.mark.parametrize(
    "missing",
    [
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        "AZURE_CLIENT_ID",
        "AZURE_TENANT_ID",
    ],
)
def test_outside_github_actions_it_is_default_azure_credential(missing):
    env = {
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://example.invalid/token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
        "AZURE_CLIENT_ID": "c",
        "AZURE_TENANT_ID": "t",
    }
    assert credentials.github_oidc_available(env)
    del env[missing]
    assert not credentials.github_oidc_available(env)
    made = credentials.make_credential(env)
    assert type(made).__name__ == "DefaultAzureCredential"


def test_classroom_status_in_ci_names_what_to_check_when_entra_refuses(entra, tmp_path):
    import io
    import json

    from classroom.__main__ import build_parser
    from classroom.checking import status
    from tests.fakes.azure import environment

    entra.federated_subject = "repo:school/synapse-ml-lab:ref:refs/heads/main"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"environments": {"ann": environment("ann")}}))
    args = build_parser().parse_args(["status", "--stack", "dev", "--outputs", str(outputs)])
    err = io.StringIO()
    assert status.main(args, out=io.StringIO(), err=err) == 2
    text = err.getvalue()
    assert "not signed in to Azure (ClientAuthenticationError" in text and "AADSTS700213" in text
    assert "id-token: write" in text and "GitHub OpenID Connect" in text
