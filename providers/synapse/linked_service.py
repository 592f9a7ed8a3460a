"""Linked service ``AzureML``: the Synapse workspace reaches the student's Azure ML workspace.

The lab's manual step 3: type Azure Machine Learning, through
AutoResolveIntegrationRuntime, authenticated as the workspace's system-assigned
managed identity (which therefore needs Contributor on the Azure ML workspace).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from .. import client as _client
from ..base import PROVIDER_KEY, LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, RetrySettings

DEFAULT_LINKED_SERVICE_NAME = "AzureML"
DESCRIPTION = "Azure Machine Learning service"

INPUT_KEYS = (
    "workspace_name",
    "linked_service_name",
    "subscription_id",
    "resource_group_name",
    "ml_workspace_name",
    "description",
    "endpoint",
    # The workspace's ARM id and an ARM address override: asked when the endpoint cannot be
    # reached (providers.client.WorkspaceProbe); neither changes the linked service.
    "workspace_id",
    "arm_endpoint",
)
# A different workspace or name is a different artifact; the endpoint override
# points at another server.
REPLACE_KEYS = ("workspace_name", "linked_service_name", "endpoint")
# Output (never an input): the hash of the managed properties as the service last
# had them. ``read`` sets it from the service, create/update from what they PUT;
# a difference with what the program declares is drift (see ``diff``).
PROPERTIES_HASH = "properties_sha256"


def managed_view(properties: Mapping[str, Any]) -> dict[str, Any]:
    """The fields this provider sets, taken from a body as the service returns it.

    The service may add fields of its own (an ``annotations`` list, an
    ``encryptedCredential``...): only what ``linked_service_properties`` sends is compared.
    """
    type_properties = properties.get("typeProperties") or {}
    connect_via = properties.get("connectVia") or {}
    return {
        "type": properties.get("type"),
        "description": properties.get("description"),
        "typeProperties": {
            k: type_properties.get(k)
            for k in ("subscriptionId", "resourceGroupName", "mlWorkspaceName", "authentication")
        },
        "connectVia": {k: connect_via.get(k) for k in ("referenceName", "type")},
    }


def properties_sha256(properties: Mapping[str, Any]) -> str:
    return hashlib.sha256(
        json.dumps(managed_view(properties), sort_keys=True).encode("utf-8")
    ).hexdigest()


def linked_service_properties(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``properties`` of the linked service as the REST API takes them."""
    return {
        "type": "AzureMLService",
        "description": props.get("description") or DESCRIPTION,
        "typeProperties": {
            "subscriptionId": props["subscription_id"],
            "resourceGroupName": props["resource_group_name"],
            "mlWorkspaceName": props["ml_workspace_name"],
            # System-assigned managed identity of the Synapse workspace.
            "authentication": "MSI",
        },
        "connectVia": {
            "referenceName": "AutoResolveIntegrationRuntime",
            "type": "IntegrationRuntimeReference",
        },
    }


class AzureMLLinkedServiceProvider(pulumi.dynamic.ResourceProvider):
    """create/update = PUT /linkedservices/{name}; delete = DELETE (404 is done)."""

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    def _context(self, props: Mapping[str, Any], verb: str) -> CallContext:
        workspace = props["workspace_name"]
        endpoint = _client.synapse_endpoint(workspace, props.get("endpoint"))
        return CallContext(
            action=f"{verb} linked service '{props['linked_service_name']}'",
            target=f"Synapse workspace '{workspace}' ({endpoint})",
        )

    def _put(self, props: Mapping[str, Any]) -> None:
        from azure.synapse.artifacts.models import LinkedService

        endpoint = _client.synapse_endpoint(props["workspace_name"], props.get("endpoint"))
        # The SDK wraps the LinkedService model in {"properties": ...} itself; a
        # LinkedServiceResource here would be sent doubly wrapped (and refused).
        model = LinkedService.deserialize(copy.deepcopy(linked_service_properties(props)))

        def put(seconds_left: float) -> None:
            credential = _client.make_credential()
            try:
                with _client.artifacts_client(credential, endpoint, self.retry) as client:
                    poller = client.linked_service.begin_create_or_update_linked_service(
                        props["linked_service_name"], model
                    )
                    _client.wait_for_poller(poller, seconds_left, "linked service")
            finally:
                _client.close_quietly(credential)

        _client.call_with_retries(put, self._context(props, "create or update"), self.retry)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        self._put(inputs)
        workspace = inputs["workspace_name"]
        return pulumi.dynamic.CreateResult(
            f"workspaces/{workspace}/linkedservices/{inputs['linked_service_name']}",
            outs=self._outputs(inputs),
        )

    @staticmethod
    def _outputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {**inputs, PROPERTIES_HASH: properties_sha256(linked_service_properties(inputs))}

    @staticmethod
    def _drifted(olds: Mapping[str, Any]) -> bool:
        """The service's properties (as the last read saw them) are not what the state says was PUT."""
        seen = olds.get(PROPERTIES_HASH)
        if not seen:
            return False  # state from before the hash existed
        try:
            return seen != properties_sha256(linked_service_properties(inputs_of(olds, INPUT_KEYS)))
        except KeyError:
            return False

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """GET the linked service: 404 is gone (refresh drops it, ``up`` creates it again).

        Present: the outputs keep the inputs as they were and record the hash of
        the service's managed properties, so that one pointing at another
        workspace (or changed in any field this provider sets) is drift that the
        next ``up`` PUTs back.
        """
        state = {k: v for k, v in from_wire(dict(props)).items() if k != PROVIDER_KEY}
        inputs = inputs_of(state, INPUT_KEYS)
        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))

        def get(_seconds_left: float) -> Any:
            credential = _client.make_credential()
            try:
                with _client.artifacts_client(credential, endpoint, self.retry) as client:
                    raw: Any = client.linked_service.get_linked_service(
                        inputs["linked_service_name"],
                        cls=_client.raw_body,
                    )
                    return (raw or {}).get("properties") or {}
            finally:
                _client.close_quietly(credential)

        found = _client.read_with_retries(
            get,
            self._context(inputs, "read"),
            self.retry,
            probe=_client.workspace_probe(inputs, self.retry),
        )
        if found is _client.GONE:
            return pulumi.dynamic.ReadResult(None, {})
        return pulumi.dynamic.ReadResult(id_, {**state, PROPERTIES_HASH: properties_sha256(found)})

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        result = diff_inputs(olds, news, INPUT_KEYS, REPLACE_KEYS)
        if not result.replaces and self._drifted(olds):
            result.diffs.append(PROPERTIES_HASH)
            result.changes = True
        return result

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        old_inputs, new_inputs = inputs_of(olds, INPUT_KEYS), inputs_of(news, INPUT_KEYS)
        if linked_service_properties(old_inputs) != linked_service_properties(
            new_inputs
        ) or self._drifted(olds):
            self._put(new_inputs)
        return pulumi.dynamic.UpdateResult(outs=self._outputs(new_inputs))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        from azure.core.exceptions import ResourceNotFoundError

        inputs = inputs_of(props, INPUT_KEYS)
        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))

        def delete(seconds_left: float) -> None:
            credential = _client.make_credential()
            try:
                with _client.artifacts_client(credential, endpoint, self.retry) as client:
                    try:
                        poller = client.linked_service.begin_delete_linked_service(
                            inputs["linked_service_name"]
                        )
                        _client.wait_for_poller(poller, seconds_left, "delete linked service")
                    except ResourceNotFoundError:
                        pass  # already gone
            finally:
                _client.close_quietly(credential)

        _client.call_with_retries(delete, self._context(inputs, "delete"), self.retry)


class AzureMLLinkedService(
    LabDynamicResource, module="synapse-ml-lab", name="AzureMLLinkedService"
):
    """The ``AzureML`` linked service of one student's Synapse workspace.

    Inputs: ``workspace_name`` (Synapse workspace), ``subscription_id``,
    ``resource_group_name`` and ``ml_workspace_name`` (the Azure ML workspace it
    points at), ``linked_service_name`` (default ``AzureML``), ``endpoint``
    (data-plane URL override; default ``https://<workspace>.dev.azuresynapse.net``),
    ``workspace_id`` (the Synapse workspace's ARM id: a refresh that cannot reach the
    endpoint asks ARM whether the workspace still exists) and ``arm_endpoint`` (override).
    Outputs: the same names, and ``properties_sha256`` (what drift is measured against).
    """

    workspace_name: pulumi.Output[str]
    linked_service_name: pulumi.Output[str]
    subscription_id: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    ml_workspace_name: pulumi.Output[str]
    description: pulumi.Output[str]
    endpoint: pulumi.Output[str | None]
    workspace_id: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        workspace_name: pulumi.Input[str],
        subscription_id: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        ml_workspace_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        endpoint: pulumi.Input[str] | None = None,
        linked_service_name: pulumi.Input[str] = DEFAULT_LINKED_SERVICE_NAME,
        description: pulumi.Input[str] = DESCRIPTION,
        retry: RetrySettings | None = None,
        workspace_id: pulumi.Input[str] | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
    ) -> None:
        super().__init__(
            AzureMLLinkedServiceProvider(retry),
            name,
            {
                "workspace_name": workspace_name,
                "linked_service_name": linked_service_name,
                "subscription_id": subscription_id,
                "resource_group_name": resource_group_name,
                "ml_workspace_name": ml_workspace_name,
                "description": description,
                "endpoint": endpoint,
                "workspace_id": workspace_id,
                "arm_endpoint": arm_endpoint,
            },
            opts,
        )
