"""Azure clients for the commands that only read: they cannot register a namespace or write.

The read-only commands (``READ_ONLY_COMMANDS``) build every Azure Resource Manager
SDK client through this module, never from the SDK packages directly (a test
holds every module of those commands to it). A new read-only command is added to
``READ_ONLY_COMMANDS`` and imports its clients from here.

Why: the management SDKs' pipeline (azure-mgmt-core ``ARMPipelineClient``, or the
generated client's own policy list) includes ``ARMAutoResourceProviderRegistrationPolicy``
(azure-mgmt-core, policies/_base.py): on a 409 ``MissingSubscriptionRegistration``
it POSTs ``/subscriptions/{s}/providers/{ns}/register`` and polls until the namespace
is registered, then repeats the read. A status check must not change the
subscription. :func:`read_only` takes that policy out of a client's pipeline, so
the 409 reaches the command as the error it is, and puts a last policy before the
transport that refuses any request that is not a read (``WriteRefused``): GET and
HEAD, and the POSTs whose REST docs say they only query (``READ_ONLY_POSTS``).

The clients of `progress` (azure-ai-ml ``MLClient``, azure-storage-blob ``ContainerClient``,
azure-monitor-query ``LogsQueryClient``) are built here too, on a :class:`ReadOnlyTransport`:
the same refusal one level lower, in the transport every pipeline of the client sends through.
``MLClient`` builds a dozen generated service clients, some only when an operation first
needs them, and hands each one its ``**kwargs`` (azure-ai-ml 1.35 ``_ml_client.py``: every
``ServiceClient...(..., **kwargs)``, ``HttpPipeline(**kwargs)``, ``_service_client_kwargs=kwargs``
for the job operations' run history and data plane clients), so ``transport=`` reaches all of
them. Those built in its constructor are also taken through :func:`read_only`, which removes
the auto-registration policy: a 409 MissingSubscriptionRegistration is the student's error,
not a "We are registering for you" warning and a refused POST.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import HTTPPolicy
from azure.core.pipeline.transport import HttpTransport

# `python -m classroom <command>` that only read; each builds its Azure clients here
# (tests/classroom/test_read_only.py runs every one of them).
READ_ONLY_COMMANDS = ("status", "progress", "preflight", "plan", "handout")

# POSTs that only read, by their REST docs: Cost Management "Query - Usage"; the name checks
# ("Storage Accounts - Check Name Availability", "Vaults - Check Name Availability", Synapse
# "Workspaces - Check Name Availability"); Log Analytics "Query - Execute"
# (api.loganalytics.io/v1/workspaces/{id}/query); Synapse "Pipeline Runs - Query By
# Workspace" (POST {endpoint}/queryPipelineRuns, the cost guard's last run).
READ_ONLY_POSTS = (
    re.compile(r"/providers/Microsoft\.CostManagement/query$", re.I),
    re.compile(r"/providers/Microsoft\.(Storage|KeyVault|Synapse)/checkNameAvailability$", re.I),
    re.compile(r"^/v1/workspaces/[^/]+/query$", re.I),
    re.compile(r"/queryPipelineRuns$", re.I),
)


class WriteRefused(AzureError):
    """A read-only command was about to send a request that changes something."""


def is_read(method: str, url: str) -> bool:
    path = urllib.parse.urlsplit(url).path
    method = method.upper()
    if method in ("GET", "HEAD"):
        return True
    return method == "POST" and any(p.search(path) for p in READ_ONLY_POSTS)


def refuse_unless_read(method: str, url: str) -> None:
    if not is_read(method, url):
        path = urllib.parse.urlsplit(url).path
        raise WriteRefused(f"a read-only command does not send {method} {path}")


class ReadOnlyPolicy(HTTPPolicy):
    """The last policy before the transport: only reads leave the process."""

    def send(self, request: Any) -> Any:
        http = request.http_request
        refuse_unless_read(http.method, http.url)
        return self.next.send(request)


# The keyword arguments of azure-core's RequestsTransport (its ConnectionConfiguration): a client
# given ``transport=`` no longer builds its own, so the timeouts go to the one built here.
TRANSPORT_KWARGS = ("connection_timeout", "read_timeout", "connection_verify", "connection_cert")


class ReadOnlyTransport(HttpTransport):
    """An azure-core transport that sends only reads (azure-core RequestsTransport underneath).

    For SDK clients that build their pipelines themselves, possibly several and some later:
    every pipeline of the client ends in its transport.
    """

    def __init__(self, inner: Any = None, **kwargs: Any) -> None:
        from azure.core.pipeline.transport import RequestsTransport

        options = {k: v for k, v in kwargs.items() if k in TRANSPORT_KWARGS}
        self._inner = inner if inner is not None else RequestsTransport(**options)

    def send(self, request: Any, **kwargs: Any) -> Any:
        refuse_unless_read(request.method, request.url)
        return self._inner.send(request, **kwargs)

    def open(self) -> None:
        self._inner.open()

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> ReadOnlyTransport:
        self._inner.__enter__()
        return self

    def __exit__(self, *args: Any) -> None:
        self._inner.__exit__(*args)


def read_only(client: Any) -> Any:
    """The client, its pipeline without auto-registration and with :class:`ReadOnlyPolicy` last.

    Works on an SDK client (its pipeline client in ``_client``) and on an azure-core
    ``PipelineClient``. The generated clients hand their operations the pipeline
    client object and run ``self._client._pipeline`` at each call, so replacing that
    pipeline (same transport, same policies less one, relinked by ``Pipeline``)
    changes every operation of the client.
    """
    from azure.core.pipeline import Pipeline
    from azure.mgmt.core.policies import ARMAutoResourceProviderRegistrationPolicy

    holder = getattr(client, "_client", client)
    pipeline = holder._pipeline
    kept = [
        p
        for p in pipeline._impl_policies
        if not isinstance(p, (ARMAutoResourceProviderRegistrationPolicy, ReadOnlyPolicy))
    ]
    holder._pipeline = Pipeline(pipeline._transport, [*kept, ReadOnlyPolicy()])
    return client


# The SDK clients the read-only commands use, built read-only. Imported lazily, as the
# commands did, so `python -m classroom --help` does not load the SDKs.
def ResourceManagementClient(*args: Any, **kwargs: Any) -> Any:  # noqa: N802 - the SDK's name
    from azure.mgmt.resource.resources import ResourceManagementClient as sdk

    return read_only(sdk(*args, **kwargs))


def AuthorizationManagementClient(*args: Any, **kwargs: Any) -> Any:  # noqa: N802
    from azure.mgmt.authorization import AuthorizationManagementClient as sdk

    return read_only(sdk(*args, **kwargs))


def CostManagementClient(*args: Any, **kwargs: Any) -> Any:  # noqa: N802
    from azure.mgmt.costmanagement import CostManagementClient as sdk

    return read_only(sdk(*args, **kwargs))


def ArtifactsClient(*args: Any, **kwargs: Any) -> Any:  # noqa: N802
    """The Synapse data plane's client (Studio's artifacts, the cost guard), read-only too."""
    from azure.synapse.artifacts import ArtifactsClient as sdk

    return read_only(sdk(*args, **kwargs))


def _has_registration_policy(value: Any) -> bool:
    from azure.mgmt.core.policies import ARMAutoResourceProviderRegistrationPolicy

    pipeline = getattr(getattr(value, "_client", value), "_pipeline", None)
    policies = getattr(pipeline, "_impl_policies", None) or []
    return any(isinstance(p, ARMAutoResourceProviderRegistrationPolicy) for p in policies)


def MLClient(  # noqa: N802 - the SDK's name
    credential: Any,
    subscription_id: str,
    resource_group_name: str,
    workspace_name: str,
    **kwargs: Any,
) -> Any:
    """azure-ai-ml's client of one workspace: every request through a :class:`ReadOnlyTransport`,
    and no auto-registration in the service clients it holds (see the module's docstring)."""
    from azure.ai.ml import MLClient as sdk

    client = sdk(
        credential,
        subscription_id,
        resource_group_name,
        workspace_name,
        transport=ReadOnlyTransport(**kwargs),
        enable_telemetry=False,  # only ever sent from a notebook (_telemetry/logging_handler.py)
        **kwargs,
    )
    # Its generated service clients (``_service_client_*``), the workspace data plane client and
    # ``_preflight`` (a ResourceManagementClient's deployments, built without the kwargs).
    for value in list(vars(client).values()):
        if _has_registration_policy(value):
            read_only(value)
    return client


def ContainerClient(**kwargs: Any) -> Any:  # noqa: N802
    """azure-storage-blob's container client (the lakes), on a :class:`ReadOnlyTransport`."""
    from azure.storage.blob import ContainerClient as sdk

    return sdk(transport=ReadOnlyTransport(**kwargs), **kwargs)


def LogsQueryClient(credential: Any, **kwargs: Any) -> Any:  # noqa: N802
    """azure-monitor-query's client: its query is a read-only POST (``READ_ONLY_POSTS``)."""
    from azure.monitor.query import LogsQueryClient as sdk

    return sdk(credential, transport=ReadOnlyTransport(**kwargs), **kwargs)
