"""The one Azure credential of the program's providers and of the classroom tools.

Outside GitHub Actions it is ``DefaultAzureCredential`` (the Azure CLI login, a
service principal's ``AZURE_*`` variables, a managed identity).

In a GitHub Actions job with ``permissions: id-token: write`` it is a
``ClientAssertionCredential`` that asks GitHub for a fresh OpenID Connect ID token
each time it needs an Entra token. ``azure/login`` with OIDC would leave an Azure CLI
session signed in with the one ID token of the login step, which GitHub issues for
about five minutes: every Entra token asked for later (the first Synapse data-plane
token, a storage token after an hour) is refused with AADSTS700024 "Client
assertion is not within its valid time range" (Azure/login#180, Azure/azure-cli#28708,
kata-containers/kata-containers#11758). A new ID token per request never expires.

The variables (all set by the runner, or by the workflow's ``env``):
``ACTIONS_ID_TOKEN_REQUEST_URL`` and ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` (the runner
sets them when the job may request ID tokens), ``AZURE_CLIENT_ID`` and
``AZURE_TENANT_ID`` (the app registration or user-assigned identity with the
federated credential for the repository).

Nothing here keeps module-level state: providers run in another process and build
their credential inside each call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

# The audience Entra expects in a federated credential's assertion, and the one
# azure/login asks GitHub for (docs: "Configure a federated identity credential on
# an app", learn.microsoft.com/entra/workload-id/workload-identity-federation-create-trust).
GITHUB_AUDIENCE = "api://AzureADTokenExchange"
GITHUB_VARIABLES = ("ACTIONS_ID_TOKEN_REQUEST_URL", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")
AZURE_VARIABLES = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID")
# How long one request for a GitHub ID token may take, in seconds.
GITHUB_TIMEOUT = 30


class CredentialError(Exception):
    """GitHub did not hand out an ID token (the job lacks `id-token: write`, or GitHub failed)."""


def github_oidc_available(environ: Mapping[str, str] | None = None) -> bool:
    """True in a GitHub Actions job that may request ID tokens and names the Azure identity."""
    env = os.environ if environ is None else environ
    return all(env.get(name) for name in GITHUB_VARIABLES + AZURE_VARIABLES)


def github_id_token_fetcher(
    environ: Mapping[str, str] | None = None, audience: str = GITHUB_AUDIENCE
) -> Callable[[], str]:
    """A callable that asks GitHub's OIDC provider for a new ID token each time it is called.

    The request is the one the Actions toolkit's ``core.getIDToken`` makes: GET the
    runner's ``ACTIONS_ID_TOKEN_REQUEST_URL`` with ``audience`` added to its query, the
    ``ACTIONS_ID_TOKEN_REQUEST_TOKEN`` as bearer token; the answer is ``{"value": jwt}``.
    """
    env = dict(os.environ if environ is None else environ)
    url, request_token = env["ACTIONS_ID_TOKEN_REQUEST_URL"], env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]

    def fetch() -> str:
        import requests

        try:
            response = requests.get(
                url,
                params={"audience": audience},
                headers={"Authorization": f"Bearer {request_token}", "Accept": "application/json"},
                timeout=GITHUB_TIMEOUT,
            )
        except requests.RequestException as error:
            raise CredentialError(
                f"could not reach GitHub for an OIDC ID token: {error}"
            ) from error
        if response.status_code != 200:
            raise CredentialError(
                f"GitHub refused an OIDC ID token (HTTP {response.status_code}): "
                f"{response.text[:200]}; the job needs `permissions: id-token: write`"
            )
        try:
            value = response.json()["value"]
        except (ValueError, KeyError, TypeError) as error:
            raise CredentialError("GitHub's answer for an OIDC ID token has no `value`") from error
        if not isinstance(value, str) or not value:
            raise CredentialError("GitHub's answer for an OIDC ID token has an empty `value`")
        return value

    return fetch


def make_credential(environ: Mapping[str, str] | None = None, **kwargs: Any) -> Any:
    """A GitHub OIDC credential in a GitHub Actions job that can use one, else DefaultAzureCredential.

    ``kwargs`` go to the credential (tests pass transport settings). The authority is
    azure-identity's default, or ``AZURE_AUTHORITY_HOST`` (another cloud, or a test's
    fake Entra).
    """
    env = os.environ if environ is None else environ
    if github_oidc_available(env):
        from azure.identity import ClientAssertionCredential

        if env.get("AZURE_AUTHORITY_HOST") and "authority" not in kwargs:
            kwargs["authority"] = env["AZURE_AUTHORITY_HOST"]
        return ClientAssertionCredential(
            tenant_id=env["AZURE_TENANT_ID"],
            client_id=env["AZURE_CLIENT_ID"],
            func=github_id_token_fetcher(env),
            **kwargs,
        )
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(**kwargs)


def describe(environ: Mapping[str, str] | None = None) -> str:
    """Which sign-in make_credential uses here, for messages."""
    if github_oidc_available(environ):
        return "GitHub OpenID Connect (a new ID token for every Entra token)"
    return "DefaultAzureCredential (`az login`, the AZURE_* variables or a managed identity)"
