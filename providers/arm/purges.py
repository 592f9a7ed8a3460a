"""Teardown that leaves no billable or name-blocking remains: purge and force-delete on destroy.

azure-native's deletes are soft for three of the lab's resources:

- an Azure ML workspace is soft-deleted for 14 days ("Soft-deleted workspace
  exists" when the next class re-creates the name);
- a Key Vault is soft-deleted and keeps its name reserved for its retention
  (7-90 days; the lab sets 7);
- a Log Analytics workspace is soft-deleted and keeps its name for 14 days.

Each resource here is a ``pulumi.dynamic`` resource whose *delete* does the
permanent removal; create and update only record the inputs and send nothing.
They work because of where they sit in the dependency graph: on destroy the
engine deletes a resource before the resources it depends on.

- :class:`MlWorkspacePurge` takes the workspace's id (so depends on it) and the
  workspace's compute, datastore and everything else inside or scoped to the
  workspace depend on it: those go first, then the purge
  (``DELETE ...?forceToPurge=true``), then azure-native's delete finds 404 (done).
- :class:`LogAnalyticsForceDelete` takes the Log Analytics workspace's id;
  Application Insights depends on it: Insights goes first, then
  ``DELETE ...?force=true``, then azure-native's delete finds 404.
- :class:`KeyVaultPurge` is the other way round: the vault depends on it, so the
  vault is (soft-)deleted first and the purge of the deleted vault comes after.

All three tolerate "already gone" (404, or 204 for a DELETE of nothing), retry
through the one bounded loop (``_client.call_with_retries``: 429, 408, 409, 5xx,
403, connection errors), follow long-running operations to the end, and when they
give up say what was left behind and the command that removes it by hand. A
long-running operation that reports ``Failed`` is the service's final word and is
not retried; ``pulumi destroy`` can simply be run again.

A replacement (different id or name) never deletes the old resource first
(``delete_before_replace`` is False): the old one is purged at the end of the
update, after whatever depended on it, which is when azure-native deletes the old
workspace or vault it belonged to anyway.

Nothing here is secret; all outputs are the inputs (plus ``workspace_name`` for
the ML purge) and survive the engine's wire format.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from lab import api_versions

from .. import client as _client
from ..base import PROVIDER_KEY, UNKNOWN, LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, DataPlaneError, RetrySettings

# From lab/api_versions.py, shared with `classroom status`.
ML_API_VERSION = api_versions.MACHINE_LEARNING
LOG_ANALYTICS_API_VERSION = api_versions.LOG_ANALYTICS
KEY_VAULT_API_VERSION = api_versions.KEY_VAULT
# An ARM id segment: no separators, query, fragment, escapes or blanks (the id goes into a URL as is).
_SEGMENT = r"[^/?#%\s]+"


def _arm_id_pattern(namespace: str, type_name: str) -> re.Pattern:
    return re.compile(
        rf"/subscriptions/({_SEGMENT})/resourceGroups/({_SEGMENT})/providers/{re.escape(namespace)}/"
        rf"{re.escape(type_name)}/({_SEGMENT})",
        re.IGNORECASE,
    )


def _arm_id(value: Any) -> str:
    return "/" + str(value).strip().strip("/")


class TeardownProvider(pulumi.dynamic.ResourceProvider):
    """create/update = record the inputs; delete = the permanent removal (see the module doc).

    Subclasses say which inputs they take, how to check them and what delete does
    (:meth:`teardown`); everything else - wire format, diff, retries, the final
    error - is shared.
    """

    serialize_as_secret_always = False  # nothing secret is captured

    input_keys: tuple[str, ...] = ()
    # Keys naming what gets removed: a change means another resource (a replacement).
    replace_keys: tuple[str, ...] = ()

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    # -- what a subclass says
    def problems(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(key, reason) for every known input that is unusable."""
        return _endpoint_problems(inputs)

    def comparable(self, key: str, value: Any) -> Any:
        """The value as Azure compares it (ARM ids and names ignore case)."""
        return value.lower() if isinstance(value, str) and key in self.replace_keys else value

    def resource_id(self, inputs: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def extra_outputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {}

    def context(self, inputs: Mapping[str, Any], base: str) -> CallContext:
        raise NotImplementedError

    def left_behind(self, inputs: Mapping[str, Any]) -> str:
        """What stays when the delete gives up, and the command that removes it by hand."""
        raise NotImplementedError

    def teardown(
        self,
        arm: _client.ArmSession,
        inputs: Mapping[str, Any],
        context: CallContext,
        seconds_left: float,
    ) -> str:
        """One idempotent attempt at the removal; returns what happened (``purged``, ``already gone``...)."""
        raise NotImplementedError

    # -- shared
    def _inputs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        inputs = inputs_of(props, self.input_keys)
        problems = self.problems(inputs)
        if problems:
            raise ValueError(
                f"{type(self).__name__}: " + "; ".join(f"{k}: {why}" for k, why in problems)
            )
        return inputs

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        inputs = inputs_of(news, self.input_keys)
        # A value not known yet (preview) is checked when it is.
        failures = [
            pulumi.dynamic.CheckFailure(k, why)
            for k, why in self.problems(inputs)
            if inputs.get(k) != UNKNOWN
        ]
        return pulumi.dynamic.CheckResult(news, failures)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = self._inputs(props)
        return pulumi.dynamic.CreateResult(
            self.resource_id(inputs), outs={**inputs, **self.extra_outputs(inputs)}
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        def normalised(props: Mapping[str, Any]) -> dict[str, Any]:
            return {k: self.comparable(k, from_wire(v)) for k, v in props.items()}

        result = diff_inputs(normalised(olds), normalised(news), self.input_keys, self.replace_keys)
        if result.replaces:
            # The old one is removed at the end of the update, after what depended on it.
            result.delete_before_replace = False
        return result

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """The state as it is, with no call: these resources own nothing in Azure.

        What they name (a workspace, a vault) belongs to azure-native, whose own
        refresh finds it gone; the purge is what a later delete does, and its
        delete already takes "already gone" as done. So a refresh never fails or
        drops a purge because its target is gone (a dropped purge would leave a
        re-created workspace without its purge on destroy).
        """
        state = {k: v for k, v in from_wire(dict(props)).items() if k != PROVIDER_KEY}
        return pulumi.dynamic.ReadResult(id_, state)

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        inputs = self._inputs(news)  # nothing to send: only the outputs follow the inputs
        return pulumi.dynamic.UpdateResult(outs={**inputs, **self.extra_outputs(inputs)})

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        self.remove(props)

    def remove(self, props: Mapping[str, Any]) -> str:
        """What delete does; returns the outcome (for tests and logs)."""
        inputs = self._inputs(props)
        settings = self.retry
        base = _client.arm_endpoint(inputs.get("arm_endpoint"))
        context = self.context(inputs, base)
        credential = _client.make_credential()
        try:
            with _client.arm_pipeline_client(credential, base, settings) as client:
                arm = _client.ArmSession(client, base, settings)

                def attempt(seconds_left: float) -> str:
                    return self.teardown(arm, inputs, context, seconds_left)

                try:
                    return _client.call_with_retries(attempt, context, settings)
                except DataPlaneError as error:
                    raise DataPlaneError(
                        f"{error} {self.left_behind(inputs)}",
                        status=error.status,
                        attempts=error.attempts,
                    ) from error
        finally:
            _client.close_quietly(credential)


def _endpoint_problems(inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
    endpoint = inputs.get("arm_endpoint")
    if endpoint is not None and not (isinstance(endpoint, str) and endpoint.startswith("https://")):
        return [("arm_endpoint", f"must be an https:// URL, got {endpoint!r}")]
    return []


class _ArmForceDeleteProvider(TeardownProvider):
    """delete = ``DELETE {arm}{id}?api-version=...&<flag>=true``, followed to the end; 404/204 = gone."""

    input_keys = ("workspace_id", "arm_endpoint")
    replace_keys = ("workspace_id",)

    what: str = ""  # "Azure ML workspace"
    namespace: str = ""  # "Microsoft.MachineLearningServices"
    api_version: str = ""
    flag: str = ""  # the query parameter that makes the delete permanent
    verb: str = ""  # "permanently delete"
    soft_days: str = "14 days"

    def _parts(self, inputs: Mapping[str, Any]) -> tuple[str, str, str]:
        """(subscription, resource group, name) of a checked id."""
        match = _arm_id_pattern(self.namespace, "workspaces").fullmatch(
            _arm_id(inputs["workspace_id"])
        )
        assert match, "checked by problems()"
        return match.group(1), match.group(2), match.group(3)

    def problems(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = super().problems(inputs)
        workspace_id = inputs.get("workspace_id")
        if not isinstance(workspace_id, str) or not _arm_id_pattern(
            self.namespace, "workspaces"
        ).fullmatch(_arm_id(workspace_id)):
            # Strict on purpose: a DELETE of any other id (a resource group's!) would remove something else.
            found.append(
                (
                    "workspace_id",
                    f"must be the ARM id of a {self.what} (/subscriptions/<id>/resourceGroups/<name>/providers/"
                    f"{self.namespace}/workspaces/<name>), got {workspace_id!r}",
                )
            )
        return found

    def resource_id(self, inputs: Mapping[str, Any]) -> str:
        return f"{_arm_id(inputs['workspace_id'])}#{self.flag}"

    def context(self, inputs: Mapping[str, Any], base: str) -> CallContext:
        _, _, name = self._parts(inputs)
        return CallContext(
            action=f"{self.verb} {self.what} '{name}'",
            target=f"'{_arm_id(inputs['workspace_id'])}' ({base})",
            service="arm",
            # 409: another operation (a compute or solution being removed) is still running.
            extra_retry_statuses=(409,),
        )

    manual_note: str = ""  # more help after the command

    def manual_command(self, subscription: str, group: str, name: str) -> str:
        raise NotImplementedError

    def left_behind(self, inputs: Mapping[str, Any]) -> str:
        subscription, group, name = self._parts(inputs)
        return (
            f"Left behind: the {self.what} '{name}' in resource group '{group}' (or its soft-deleted copy, "
            f"which keeps the name for {self.soft_days}). Remove it by hand with "
            f"`{self.manual_command(subscription, group, name)}`{self.manual_note}, then run `pulumi destroy` again."
        )

    def teardown(
        self,
        arm: _client.ArmSession,
        inputs: Mapping[str, Any],
        context: CallContext,
        seconds_left: float,
    ) -> str:
        from azure.core.exceptions import HttpResponseError

        deadline = time.monotonic() + seconds_left
        response = arm.send(
            "DELETE",
            f"{_arm_id(inputs['workspace_id'])}?api-version={self.api_version}&{self.flag}=true",
        )
        if response.status_code in (404, 204):
            return "already gone"
        if response.status_code == 202:
            arm.follow(response, deadline, context)
        elif response.status_code != 200:
            raise HttpResponseError(response=response)
        return "deleted"


class MlWorkspacePurgeProvider(_ArmForceDeleteProvider):
    what = "Azure ML workspace"
    namespace = "Microsoft.MachineLearningServices"
    api_version = ML_API_VERSION
    flag = "forceToPurge"
    verb = "permanently delete (purge)"

    def extra_outputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {"workspace_name": self._parts(inputs)[2]}

    manual_note = " (one already soft-deleted: Azure portal > Azure Machine Learning > Recently deleted > Permanently delete)"

    def manual_command(self, subscription: str, group: str, name: str) -> str:
        return (
            f"az ml workspace delete --name {name} --resource-group {group} --subscription {subscription} "
            "--permanently-delete --yes"
        )


class LogAnalyticsForceDeleteProvider(_ArmForceDeleteProvider):
    what = "Log Analytics workspace"
    namespace = "Microsoft.OperationalInsights"
    api_version = LOG_ANALYTICS_API_VERSION
    flag = "force"
    verb = "force-delete"

    def manual_command(self, subscription: str, group: str, name: str) -> str:
        return (
            f"az monitor log-analytics workspace delete --workspace-name {name} --resource-group {group} "
            f"--subscription {subscription} --force true --yes"
        )


_VAULT_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-)){1,22}[A-Za-z0-9]")
_LOCATION = re.compile(r"[A-Za-z0-9 ]+")
_PLAIN_SEGMENT = re.compile(_SEGMENT)


def _location(value: Any) -> str:
    """ARM's short form: ``West Europe`` -> ``westeurope``."""
    return str(value).replace(" ", "").lower()


class KeyVaultPurgeProvider(TeardownProvider):
    """delete = purge the soft-deleted vault, once azure-native has deleted it.

    GET the deleted vault: 200 -> ``POST .../purge`` (202 followed to the end).
    404 -> GET the live vault: 200 -> it is still being deleted (or the order is
    wrong): look again every ``polling_interval``, at most ``live_vault_checks``
    times; 404 as well -> one more look at the deleted vault (it may have moved
    between the two GETs), still 404 -> nothing to purge.
    """

    input_keys = (
        "subscription_id",
        "resource_group_name",
        "location",
        "vault_name",
        "arm_endpoint",
    )
    replace_keys = ("subscription_id", "resource_group_name", "location", "vault_name")
    # With the default 2 s polling interval: a minute for a deleted vault to show up.
    live_vault_checks = 30

    def problems(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        found = super().problems(inputs)
        rules: dict[str, tuple[re.Pattern, str]] = {
            "subscription_id": (_PLAIN_SEGMENT, "a subscription id"),
            "resource_group_name": (_PLAIN_SEGMENT, "a resource group name"),
            "location": (_LOCATION, "an Azure region like westeurope"),
            "vault_name": (
                _VAULT_NAME,
                "a Key Vault name (3-24 letters, digits and single hyphens)",
            ),
        }
        for key, (pattern, what) in rules.items():
            value = inputs.get(key)
            if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
                found.append((key, f"must be {what}, got {value!r}"))
        return found

    def comparable(self, key: str, value: Any) -> Any:
        if key == "location" and isinstance(value, str):
            return _location(value)
        return super().comparable(key, value)

    @staticmethod
    def _paths(inputs: Mapping[str, Any]) -> tuple[str, str]:
        """(deleted vault, live vault) paths."""
        subscription, vault = inputs["subscription_id"].strip(), inputs["vault_name"].strip()
        deleted = (
            f"/subscriptions/{subscription}/providers/Microsoft.KeyVault/locations/{_location(inputs['location'])}"
            f"/deletedVaults/{vault}"
        )
        live = (
            f"/subscriptions/{subscription}/resourceGroups/{inputs['resource_group_name'].strip()}"
            f"/providers/Microsoft.KeyVault/vaults/{vault}"
        )
        return deleted, live

    def resource_id(self, inputs: Mapping[str, Any]) -> str:
        return f"{self._paths(inputs)[0]}#purge"

    def context(self, inputs: Mapping[str, Any], base: str) -> CallContext:
        return CallContext(
            action=f"purge deleted Key Vault '{inputs['vault_name']}'",
            target=f"subscription '{inputs['subscription_id']}', location '{_location(inputs['location'])}' ({base})",
            service="arm",
            extra_retry_statuses=(409,),  # a purge of the same vault is already running
        )

    def left_behind(self, inputs: Mapping[str, Any]) -> str:
        vault, subscription = inputs["vault_name"], inputs["subscription_id"]
        return (
            f"Left behind: the Key Vault '{vault}' (soft-deleted, it keeps the name until its scheduled purge "
            f"date, 7-90 days). Remove it by hand with `az keyvault purge --name {vault} --location "
            f"{_location(inputs['location'])} --subscription {subscription}` (if the vault still exists, first "
            f"`az keyvault delete --name {vault} --resource-group {inputs['resource_group_name']} "
            f"--subscription {subscription}`), then run `pulumi destroy` again. Purging needs "
            f"Microsoft.KeyVault/locations/deletedVaults/purge/action at subscription scope (e.g. Key Vault "
            f"Contributor on the subscription): a role on the resource group alone is not enough."
        )

    def teardown(
        self,
        arm: _client.ArmSession,
        inputs: Mapping[str, Any],
        context: CallContext,
        seconds_left: float,
    ) -> str:
        from azure.core.exceptions import HttpResponseError

        deadline = time.monotonic() + seconds_left
        deleted, live = self._paths(inputs)
        query = f"?api-version={KEY_VAULT_API_VERSION}"

        def exists(path: str) -> bool:
            response = arm.send("GET", path + query)
            if response.status_code not in (200, 404):
                raise HttpResponseError(response=response)
            return response.status_code == 200

        checks = 0
        while not exists(deleted):
            if not exists(live):
                # Gone from both - unless it moved to the deleted vaults between the two looks.
                if exists(deleted):
                    break
                return "nothing to purge"
            checks += 1
            delay = self.retry.polling_interval
            if checks >= self.live_vault_checks or time.monotonic() + delay > deadline:
                raise DataPlaneError(
                    f"{context.action} in {context.target}: the vault still exists in resource group "
                    f"'{inputs['resource_group_name']}' after {checks} looks. It can only be purged once it "
                    f"is deleted: the vault must depend on its KeyVaultPurge (take vault_name from its "
                    f"output, or depends_on) so that `pulumi destroy` deletes the vault first.",
                    status=200,
                    attempts=checks,
                )
            time.sleep(delay)

        response = arm.send("POST", f"{deleted}/purge{query}")
        if response.status_code == 404:
            return "nothing to purge"  # purged meanwhile (an earlier attempt whose answer was lost)
        if response.status_code == 202:
            arm.follow(response, deadline, context)
        elif response.status_code not in (200, 204):
            raise HttpResponseError(response=response)
        return "purged"


# ----------------------------------------------------------------------------- the resources


class _ForceDeleteResource(LabDynamicResource):
    """What the two ARM force-delete resources share: one input ``workspace_id`` (outputs they add start unknown)."""

    _provider_class: type[TeardownProvider]
    _extra_outputs: tuple[str, ...] = ()

    def __init__(
        self,
        name: str,
        workspace_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        props: dict[str, Any] = {"workspace_id": workspace_id, "arm_endpoint": arm_endpoint}
        props.update(dict.fromkeys(self._extra_outputs))
        super().__init__(self._provider_class(retry), name, props, opts)


class MlWorkspacePurge(_ForceDeleteResource, module="synapse-ml-lab", name="MlWorkspacePurge"):
    """On delete, permanently deletes (purges) the Azure ML workspace ``workspace_id``.

    ``DELETE {arm}{workspace_id}?api-version=2025-06-01&forceToPurge=true``, the
    202 followed to the end; 404 (or 204) means already gone. Create and update
    send nothing.

    Wiring: give it ``workspace_id=<workspace>.id`` and make everything inside or
    scoped to the workspace (compute, datastores, role assignments on it, ...)
    depend on this resource - best by taking the workspace's name / id from this
    resource's outputs (``workspace_name``, ``workspace_id``). Destroy then runs:
    those -> this purge -> azure-native's workspace delete (404, done).

    A replacement (another ``workspace_id``) happens only when the workspace
    itself is replaced: the old purge is then deleted at the end of the update and
    purges the *old* workspace, which is going away anyway. ARM ids compare
    case-insensitively, so a change of case alone is no replacement. Removing this
    resource from the program (or renaming it without an alias) purges the live
    workspace: drop it from the state first (``pulumi state delete``) if that is
    not meant.

    Inputs: ``workspace_id``; ``arm_endpoint`` (override, default
    ``https://management.azure.com``). Outputs: those and ``workspace_name``.
    """

    workspace_id: pulumi.Output[str]
    workspace_name: pulumi.Output[str]
    arm_endpoint: pulumi.Output[str | None]

    _provider_class = MlWorkspacePurgeProvider
    _extra_outputs = ("workspace_name",)


class LogAnalyticsForceDelete(
    _ForceDeleteResource, module="synapse-ml-lab", name="LogAnalyticsForceDelete"
):
    """On delete, force-deletes the Log Analytics workspace ``workspace_id`` (no 14-day soft delete).

    ``DELETE {arm}{workspace_id}?api-version=2023-09-01&force=true``, the 202
    followed to the end; 404 (or 204) means already gone. Create and update send
    nothing.

    Wiring: ``workspace_id=<log analytics>.id``; Application Insights (and
    anything else sending to the workspace) depends on this resource - best by
    taking ``workspace_resource_id`` from this resource's ``workspace_id``. Destroy
    then runs: Insights -> this force delete -> azure-native's delete (404, done).
    Replacement and removal behave as for :class:`MlWorkspacePurge`.

    Inputs: ``workspace_id``; ``arm_endpoint``. Outputs: the same.
    """

    workspace_id: pulumi.Output[str]
    arm_endpoint: pulumi.Output[str | None]

    _provider_class = LogAnalyticsForceDeleteProvider


class KeyVaultPurge(LabDynamicResource, module="synapse-ml-lab", name="KeyVaultPurge"):
    """On delete, purges the soft-deleted Key Vault ``vault_name`` (after azure-native deleted it).

    ``GET .../locations/{location}/deletedVaults/{vault}``: 200 -> ``POST .../purge``
    (api-version 2023-07-01; a 202 is followed to the end). 404 -> the live vault
    is looked up in ``resource_group_name``: gone too -> nothing to purge; still
    there -> looked at again (it is being deleted) a bounded number of times.
    Create and update send nothing.

    Wiring is the reverse of the other two: the *vault* depends on this resource
    (best: ``vault_name=<this>.vault_name``, else ``depends_on``), so destroy
    deletes the vault first and purges it here afterwards. Take the inputs from
    the values the vault is declared with, never from the vault's outputs (that
    would be a cycle). A replacement (another name, region, group or subscription)
    purges the old vault at the end of the update, after azure-native deleted it.

    The purge is a subscription-level action
    (``Microsoft.KeyVault/locations/deletedVaults/purge/action``): the identity
    running ``pulumi destroy`` needs it at subscription scope (e.g. Key Vault
    Contributor or Contributor on the subscription).

    Inputs: ``subscription_id``, ``location``, ``vault_name``,
    ``resource_group_name``; ``arm_endpoint``. Outputs: the same.
    """

    subscription_id: pulumi.Output[str]
    location: pulumi.Output[str]
    vault_name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    arm_endpoint: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        subscription_id: pulumi.Input[str],
        location: pulumi.Input[str],
        vault_name: pulumi.Input[str],
        resource_group_name: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        super().__init__(
            KeyVaultPurgeProvider(retry),
            name,
            {
                "subscription_id": subscription_id,
                "location": location,
                "vault_name": vault_name,
                "resource_group_name": resource_group_name,
                "arm_endpoint": arm_endpoint,
            },
            opts,
        )
