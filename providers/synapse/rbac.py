"""Synapse RBAC role assignments of one workspace (who may use it), as ONE resource.

Synapse RBAC is data plane (``https://<workspace>.dev.azuresynapse.net``), not
ARM. azure-synapse-accesscontrol 0.7 does have the 2020-12-01 call this needs,
``create_role_assignment(role_assignment_id, ...)`` = ``PUT
/roleAssignments/{id}`` with ``{roleId, principalId, scope, principalType}``, and
``delete_role_assignment_by_id``; it is used rather than hand-written HTTPS.

The id of each assignment is a uuid5 of workspace, role and principal, so a
create that is retried (or re-run after a failed ``pulumi up``) PUTs the same id
again instead of adding a duplicate. If the service answers 409 (the principal
already holds the role under another id, e.g. the workspace creator's automatic
Synapse Administrator), the assignment is taken as present; deleting ours later
then finds 404, which counts as done, and the pre-existing one is left alone.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.dynamic

from lab.roles import SYNAPSE_ADMINISTRATOR, SYNAPSE_CONTRIBUTOR  # noqa: F401  re-exported; role ids live in roles.py

from .. import client as _client
from ..base import (
    PROVIDER_KEY,
    LabDiffResult,
    LabDynamicResource,
    contains_unknown,
    diff_inputs,
    from_wire,
    inputs_of,
)
from ..client import CallContext, RetrySettings

# Fixed namespace of this project's role-assignment ids (never change it: ids would move).
ROLE_ASSIGNMENT_NAMESPACE = uuid.UUID("5d0c3b7e-52b5-4c55-9a51-3f1b8f3a6c21")
PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")

# workspace_id / arm_endpoint: asked when the endpoint cannot be reached (client.WorkspaceProbe).
INPUT_KEYS = ("workspace_name", "endpoint", "assignments", "workspace_id", "arm_endpoint")
REPLACE_KEYS = ("workspace_name", "endpoint")


@dataclass
class SynapseRoleAssignmentArgs:
    role_id: pulumi.Input[str]
    principal_id: pulumi.Input[str]
    principal_type: pulumi.Input[str]


def role_assignment_id(workspace_name: str, role_id: str, principal_id: str) -> str:
    """Deterministic id: the same workspace, role and principal always give the same id."""
    key = f"{workspace_name}/{role_id}/{principal_id}".lower()
    return str(uuid.uuid5(ROLE_ASSIGNMENT_NAMESPACE, key))


def workspace_scope(workspace_name: str) -> str:
    return f"workspaces/{workspace_name}"


def _assignment_key(item: Mapping[str, Any]) -> str:
    return f"{str(item['roleId']).lower()}/{str(item['principalId']).lower()}"


def keyed_assignments(value: Any) -> Any:
    """``{"<roleId>/<principalId>": {"principalType": ...}}`` (order-free) from the list form."""
    if not isinstance(value, list):
        return value  # absent, or unknown during preview
    return {
        _assignment_key(item): {"principalType": item.get("principalType")}
        for item in from_wire(value)
    }


def _normalise_assignment(item: SynapseRoleAssignmentArgs | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(item, SynapseRoleAssignmentArgs):
        return {
            "roleId": item.role_id,
            "principalId": item.principal_id,
            "principalType": item.principal_type,
        }
    get = lambda camel, snake: item.get(camel, item.get(snake))  # noqa: E731
    result = {
        "roleId": get("roleId", "role_id"),
        "principalId": get("principalId", "principal_id"),
        "principalType": get("principalType", "principal_type"),
    }
    missing = [k for k, v in result.items() if v is None]
    if missing:
        raise ValueError(f"role assignment {dict(item)!r} misses {', '.join(missing)}")
    if isinstance(result["principalType"], str) and result["principalType"] not in PRINCIPAL_TYPES:
        raise ValueError(
            f"principalType {result['principalType']!r} is not one of {', '.join(PRINCIPAL_TYPES)}"
        )
    return result


class SynapseRoleAssignmentsProvider(pulumi.dynamic.ResourceProvider):
    """create = PUT each; update = PUT new / changed, DELETE removed; delete = DELETE each (404 is done)."""

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    def _run(self, inputs: Mapping[str, Any], work: list[tuple[str, Mapping[str, Any]]]) -> None:
        if not work:
            return
        from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError

        workspace = inputs["workspace_name"]
        endpoint = _client.synapse_endpoint(workspace, inputs.get("endpoint"))
        target = f"Synapse workspace '{workspace}' ({endpoint})"
        credential = _client.make_credential()
        try:
            with _client.access_control_client(credential, endpoint, self.retry) as client:
                for verb, item in work:
                    assignment_id = role_assignment_id(
                        workspace, item["roleId"], item["principalId"]
                    )

                    def call(
                        _seconds_left: float, verb=verb, item=item, assignment_id=assignment_id
                    ) -> None:
                        if verb == "put":
                            # Held under another id already (see the module doc).
                            with contextlib.suppress(ResourceExistsError):
                                client.role_assignments.create_role_assignment(
                                    role_assignment_id=assignment_id,
                                    role_id=item["roleId"],
                                    principal_id=item["principalId"],
                                    scope=workspace_scope(workspace),
                                    principal_type=item.get("principalType"),
                                )
                        else:
                            with contextlib.suppress(ResourceNotFoundError):  # already gone
                                client.role_assignments.delete_role_assignment_by_id(assignment_id)

                    action = (
                        f"{'assign' if verb == 'put' else 'remove'} Synapse role {item['roleId']} "
                        f"{'to' if verb == 'put' else 'from'} {item.get('principalType', 'principal')} "
                        f"{item['principalId']} (role assignment {assignment_id})"
                    )
                    _client.call_with_retries(call, CallContext(action, target), self.retry)
        finally:
            _client.close_quietly(credential)

    @staticmethod
    def _outputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
        workspace = inputs["workspace_name"]
        return {
            **inputs,
            "role_assignment_ids": [
                role_assignment_id(workspace, a["roleId"], a["principalId"])
                for a in inputs.get("assignments") or []
            ],
        }

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        self._run(inputs, [("put", item) for item in inputs.get("assignments") or []])
        return pulumi.dynamic.CreateResult(
            f"workspaces/{inputs['workspace_name']}/roleAssignments", outs=self._outputs(inputs)
        )

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Which assignments exist: a missing one leaves the state, so ``up`` assigns it again.

        GET by our id; a 404 there is looked up once more by role, principal and
        scope (the principal may hold the role under another id, see the module
        doc). When none is left (the workspace was deleted or re-created) the
        resource is reported gone.
        """
        state = {k: v for k, v in from_wire(dict(props)).items() if k != PROVIDER_KEY}
        inputs = inputs_of(state, INPUT_KEYS)
        items = list(inputs.get("assignments") or [])
        if not items:
            return pulumi.dynamic.ReadResult(id_, state)
        workspace = inputs["workspace_name"]
        endpoint = _client.synapse_endpoint(workspace, inputs.get("endpoint"))
        target = f"Synapse workspace '{workspace}' ({endpoint})"
        probe = _client.workspace_probe(inputs, self.retry)
        credential = _client.make_credential()
        present: list[dict[str, Any]] = []
        try:
            with _client.access_control_client(credential, endpoint, self.retry) as client:
                for item in items:
                    assignment_id = role_assignment_id(
                        workspace, item["roleId"], item["principalId"]
                    )

                    def by_id(_seconds_left: float, assignment_id=assignment_id) -> Any:
                        return client.role_assignments.get_role_assignment_by_id(assignment_id)

                    def by_principal(_seconds_left: float, item=item) -> Any:
                        found = client.role_assignments.list_role_assignments(
                            role_id=item["roleId"],
                            principal_id=item["principalId"],
                            scope=workspace_scope(workspace),
                        )
                        return list(getattr(found, "value", None) or [])

                    context = CallContext(
                        f"read Synapse role assignment {assignment_id} (role {item['roleId']}, "
                        f"principal {item['principalId']})",
                        target,
                    )
                    found = _client.read_with_retries(by_id, context, self.retry, probe=probe)
                    if found is _client.GONE:
                        others = _client.read_with_retries(
                            by_principal, context, self.retry, probe=probe
                        )
                        if others is _client.GONE or not others:
                            continue  # drift: assigned again by the next `up`
                    present.append(item)
        finally:
            _client.close_quietly(credential)
        if not present:
            return pulumi.dynamic.ReadResult(None, {})
        return pulumi.dynamic.ReadResult(id_, self._outputs({**inputs, "assignments": present}))

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        def view(props: Mapping[str, Any]) -> dict[str, Any]:
            result = dict(props)
            if props.get("assignments") is not None and not contains_unknown(props["assignments"]):
                result["assignments"] = keyed_assignments(props["assignments"])
            return result

        result: LabDiffResult = diff_inputs(
            view(olds), view(news), INPUT_KEYS, REPLACE_KEYS, ("assignments",)
        )
        return result

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        old, new = inputs_of(olds, INPUT_KEYS), inputs_of(news, INPUT_KEYS)
        old_items = {_assignment_key(a): a for a in old.get("assignments") or []}
        new_items = {_assignment_key(a): a for a in new.get("assignments") or []}
        work: list[tuple[str, Mapping[str, Any]]] = []
        for key, item in new_items.items():
            before = old_items.get(key)
            if before is not None and before.get("principalType") != item.get("principalType"):
                work.append(("delete", before))  # same id, different principal type: re-create
                work.append(("put", item))
            elif before is None:
                work.append(("put", item))
        # Retired roles last: a principal moved from one role to another (Synapse
        # Administrator to Contributor + Credential User) holds the new ones before it
        # loses the old one, and keeps the old one if a PUT fails.
        for key in sorted(set(old_items) - set(new_items)):
            work.append(("delete", old_items[key]))
        self._run(new, work)
        return pulumi.dynamic.UpdateResult(outs=self._outputs(new))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = inputs_of(props, INPUT_KEYS)
        self._run(inputs, [("delete", item) for item in inputs.get("assignments") or []])


class SynapseRoleAssignments(
    LabDynamicResource, module="synapse-ml-lab", name="SynapseRoleAssignments"
):
    """Synapse RBAC role assignments at scope ``workspaces/<workspace_name>``.

    Inputs: ``workspace_name``; ``assignments``: a list of
    :class:`SynapseRoleAssignmentArgs` or mappings ``{roleId, principalId,
    principalType}`` (snake_case keys accepted); ``endpoint`` override; ``workspace_id``
    (the workspace's ARM id: a refresh that cannot reach the endpoint asks ARM whether
    the workspace still exists) and ``arm_endpoint`` (override).
    Outputs: those, and ``role_assignment_ids`` (same order as ``assignments``).
    """

    workspace_name: pulumi.Output[str]
    assignments: pulumi.Output[list]
    endpoint: pulumi.Output[str | None]
    workspace_id: pulumi.Output[str | None]
    role_assignment_ids: pulumi.Output[list]

    def __init__(
        self,
        name: str,
        workspace_name: pulumi.Input[str],
        assignments: Sequence[SynapseRoleAssignmentArgs | Mapping[str, Any]],
        opts: pulumi.ResourceOptions | None = None,
        endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
        workspace_id: pulumi.Input[str] | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
    ) -> None:
        super().__init__(
            SynapseRoleAssignmentsProvider(retry),
            name,
            {
                "workspace_name": workspace_name,
                "endpoint": endpoint,
                "assignments": [_normalise_assignment(item) for item in assignments],
                "workspace_id": workspace_id,
                "arm_endpoint": arm_endpoint,
                "role_assignment_ids": None,
            },
            opts,
        )
