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
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from azure.core.exceptions import AzureError
from azure.core.pipeline.policies import HTTPPolicy

# `python -m classroom <command>` that only read. `progress` is listed before it exists:
# whoever writes it builds its clients here (tests/classroom/test_read_only.py).
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


class ReadOnlyPolicy(HTTPPolicy):
    """The last policy before the transport: only reads leave the process."""

    def send(self, request: Any) -> Any:
        http = request.http_request
        if not is_read(http.method, http.url):
            path = urllib.parse.urlsplit(http.url).path
            raise WriteRefused(f"a read-only command does not send {http.method} {path}")
        return self.next.send(request)


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
