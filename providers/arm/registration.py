"""Register a subscription with the resource provider namespaces the lab needs; never unregister.

ARM refuses a resource whose namespace the subscription has not registered
(``MissingSubscriptionRegistration``), and azure-native does not register namespaces
itself (pulumi/pulumi-azure-native#3479). azure-native 3.29 has no resource for it
either: ``providerhub.ProviderRegistration`` publishes one's *own* resource provider
(ProviderHub), it does not register a subscription with an existing one. So this is
a small dynamic resource, :class:`ResourceProviderRegistration`, one per subscription:

- create/update: for each namespace, ``GET /subscriptions/{id}/providers/{ns}``;
  ``Registered`` costs that one read. Otherwise ``POST .../providers/{ns}/register``
  and ``GET`` again every ``polling_interval`` until ``registrationState`` is
  ``Registered`` (registration is asynchronous and takes seconds to minutes), bounded
  by the retry settings' time budget (Azure Resource Manager REST API, "Providers -
  Get" / "Providers - Register", api-version 2025-04-01, the version azure-mgmt-resource
  26 uses).
- read: the namespaces' current states; one that is no longer ``Registered`` shows
  as a change in the next diff, so ``pulumi refresh`` + ``pulumi up`` registers it again.
- delete: nothing. Unregistering would break every other deployment in the
  subscription; a namespace stays registered after the class.

Calls go through the one bounded retry loop (429, 408, 5xx, connection errors). A 403
on ``register`` is not retried: registering needs ``<namespace>/register/action`` at
subscription scope (Contributor or Owner of the subscription have it), and the error
names the namespace, the subscription and the command a subscription owner runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from .. import client as _client
from ..base import UNKNOWN, LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, DataPlaneError, RetrySettings

RESOURCES_API_VERSION = "2025-04-01"
REGISTERED = "Registered"
INPUT_KEYS = ("subscription_id", "namespaces", "arm_endpoint")
_SUBSCRIPTION = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_NAMESPACE = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)+")


class RegistrationRefused(RuntimeError):
    """The identity may not register a namespace: waiting will not help (not retried)."""


def refusal_message(subscription: str, namespace: str, detail: str = "") -> str:
    return (
        f"register resource provider '{namespace}' in subscription '{subscription}' was refused"
        f"{f' ({detail})' if detail else ''}: the identity running `pulumi up` needs "
        f"'{namespace}/register/action' on the subscription (Contributor or Owner of the "
        f"subscription have it). Ask a subscription Owner or Contributor to run `az provider "
        f"register --namespace {namespace} --subscription {subscription}` once, then run "
        "`pulumi up` again."
    )


def _error_code(error: BaseException | None) -> str:
    response = getattr(error, "response", None)
    found = _client.json_body(response).get("error") if response is not None else None
    return str(found.get("code") or "") if isinstance(found, dict) else ""


class ResourceProviderRegistrationProvider(pulumi.dynamic.ResourceProvider):
    """create/update = register what is not registered and wait; read = states; delete = nothing."""

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    # -- inputs
    @staticmethod
    def problems(inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        subscription = inputs.get("subscription_id")
        if not isinstance(subscription, str) or not _SUBSCRIPTION.fullmatch(subscription.strip()):
            found.append(
                ("subscription_id", f"must be a subscription id (a GUID), got {subscription!r}")
            )
        namespaces = inputs.get("namespaces")
        if not isinstance(namespaces, list) or not namespaces:
            found.append(
                ("namespaces", f"must be a non-empty list of namespaces, got {namespaces!r}")
            )
        else:
            wrong = [n for n in namespaces if not isinstance(n, str) or not _NAMESPACE.fullmatch(n)]
            if wrong:
                found.append(
                    ("namespaces", f"must be namespaces like Microsoft.Synapse, got {wrong!r}")
                )
        endpoint = inputs.get("arm_endpoint")
        if endpoint is not None and not (
            isinstance(endpoint, str) and endpoint.startswith("https://")
        ):
            found.append(("arm_endpoint", f"must be an https:// URL, got {endpoint!r}"))
        return found

    def _inputs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        inputs = inputs_of(props, INPUT_KEYS)
        problems = self.problems(inputs)
        if problems:
            raise ValueError(
                "ResourceProviderRegistration: " + "; ".join(f"{k}: {why}" for k, why in problems)
            )
        inputs["subscription_id"] = inputs["subscription_id"].strip().lower()
        return inputs

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        inputs = inputs_of(news, INPUT_KEYS)
        failures = [
            pulumi.dynamic.CheckFailure(k, why)
            for k, why in self.problems(inputs)
            if inputs.get(k) != UNKNOWN
        ]
        return pulumi.dynamic.CheckResult(news, failures)

    # -- calls
    def _session(self, inputs: Mapping[str, Any], credential: Any) -> tuple[Any, str]:
        base = _client.arm_endpoint(inputs.get("arm_endpoint"))
        return _client.arm_pipeline_client(credential, base, self.retry), base

    @staticmethod
    def _path(subscription: str, namespace: str, action: str = "") -> str:
        return (
            f"/subscriptions/{subscription}/providers/{namespace}{action}"
            f"?api-version={RESOURCES_API_VERSION}"
        )

    def _state(self, arm: _client.ArmSession, subscription: str, namespace: str, base: str) -> str:
        """The namespace's registrationState, retried on throttling and server errors."""
        from azure.core.exceptions import HttpResponseError

        context = CallContext(
            action=f"read the registration of resource provider '{namespace}'",
            target=f"subscription '{subscription}' ({base})",
            service="arm",
        )

        def attempt(_seconds_left: float) -> str:
            response = arm.send("GET", self._path(subscription, namespace))
            if response.status_code != 200:
                raise HttpResponseError(response=response)
            return str(_client.json_body(response).get("registrationState") or "")

        return _client.call_with_retries(attempt, context, self.retry)

    def _register(
        self, arm: _client.ArmSession, subscription: str, namespace: str, base: str
    ) -> None:
        """POST register (idempotent: registering a registered namespace changes nothing)."""
        from azure.core.exceptions import HttpResponseError

        context = CallContext(
            action=f"register resource provider '{namespace}'",
            target=f"subscription '{subscription}' ({base})",
            service="arm",
        )

        def attempt(_seconds_left: float) -> None:
            response = arm.send("POST", self._path(subscription, namespace, "/register"))
            if response.status_code == 403:
                body = _client.json_body(response).get("error") or {}
                detail = str(body.get("code") or "") if isinstance(body, dict) else ""
                raise RegistrationRefused(refusal_message(subscription, namespace, detail))
            if response.status_code not in (200, 202):
                raise HttpResponseError(response=response)

        _client.call_with_retries(attempt, context, self.retry)

    def ensure_registered(self, inputs: Mapping[str, Any]) -> dict[str, str]:
        """Register every namespace not yet registered and wait until each is; namespace -> state."""
        subscription, namespaces = inputs["subscription_id"], list(inputs["namespaces"])
        credential = _client.make_credential()
        try:
            client, base = self._session(inputs, credential)
            with client:
                arm = _client.ArmSession(client, base, self.retry)
                states = {ns: self._state(arm, subscription, ns, base) for ns in namespaces}
                pending = [ns for ns, state in states.items() if state != REGISTERED]
                for namespace in pending:
                    self._register(arm, subscription, namespace, base)
                deadline = time.monotonic() + self.retry.max_total_seconds
                while pending:
                    for namespace in list(pending):
                        states[namespace] = self._state(arm, subscription, namespace, base)
                        if states[namespace] == REGISTERED:
                            pending.remove(namespace)
                    if not pending:
                        break
                    if time.monotonic() + self.retry.polling_interval > deadline:
                        waiting = ", ".join(f"{ns} ({states[ns] or 'no state'})" for ns in pending)
                        raise DataPlaneError(
                            f"registering resource providers in subscription '{subscription}' did not "
                            f"finish within {self.retry.max_total_seconds:g} s: still {waiting}. "
                            "Registration continues in Azure; run `pulumi up` again in a few minutes "
                            f"(or check with `az provider show --namespace {pending[0]} --subscription "
                            f"{subscription} --query registrationState`)."
                        )
                    time.sleep(self.retry.polling_interval)
                return states
        finally:
            _client.close_quietly(credential)

    def current_states(self, inputs: Mapping[str, Any]) -> dict[str, str]:
        credential = _client.make_credential()
        try:
            client, base = self._session(inputs, credential)
            with client:
                arm = _client.ArmSession(client, base, self.retry)
                return {
                    ns: self._state(arm, inputs["subscription_id"], ns, base)
                    for ns in inputs["namespaces"]
                }
        finally:
            _client.close_quietly(credential)

    # -- the engine's calls
    @staticmethod
    def _id(inputs: Mapping[str, Any]) -> str:
        return f"/subscriptions/{inputs['subscription_id']}/providers#registration"

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = self._inputs(props)
        states = self.ensure_registered(inputs)
        return pulumi.dynamic.CreateResult(self._id(inputs), outs={**inputs, "states": states})

    def update(
        self, _id: str, _olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        inputs = self._inputs(news)
        return pulumi.dynamic.UpdateResult(
            outs={**inputs, "states": self.ensure_registered(inputs)}
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        def normalised(props: Mapping[str, Any]) -> dict[str, Any]:
            values = {k: from_wire(v) for k, v in props.items()}
            subscription = values.get("subscription_id")
            if isinstance(subscription, str) and subscription != UNKNOWN:
                values["subscription_id"] = subscription.strip().lower()
            namespaces = values.get("namespaces")
            if isinstance(namespaces, list) and UNKNOWN not in namespaces:
                values["namespaces"] = sorted({str(n).lower() for n in namespaces})
            return values

        result = diff_inputs(normalised(olds), normalised(news), INPUT_KEYS, ("subscription_id",))
        if result.replaces:
            # Another subscription: register there first; the old one's delete does nothing anyway.
            result.delete_before_replace = False
        # Drift found by refresh: a namespace that is no longer registered is registered again.
        states = from_wire(olds.get("states")) or {}
        unregistered = sorted(ns for ns, state in states.items() if state != REGISTERED)
        if unregistered and not result.replaces:
            result.changes = True
            result.diffs = result.diffs + [f"states.{ns}" for ns in unregistered]
        return result

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        inputs = self._inputs(props)
        try:
            states = self.current_states(inputs)
        except DataPlaneError as error:
            if error.status == 404 and _error_code(error.__cause__) == "SubscriptionNotFound":
                return pulumi.dynamic.ReadResult(None, {})  # only a gone subscription is gone
            raise
        return pulumi.dynamic.ReadResult(id_, {**inputs, "states": states})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Never unregisters: other deployments in the subscription may use the namespaces."""
        return None


class ResourceProviderRegistration(
    LabDynamicResource, module="synapse-ml-lab", name="ResourceProviderRegistration"
):
    """Registers ``subscription_id`` with each of ``namespaces`` and waits until each is Registered.

    Already registered namespaces cost one read each. Delete never unregisters.
    Make the subscription's first resources depend on it (``depends_on``): ARM
    refuses them with ``MissingSubscriptionRegistration`` before registration.

    Inputs: ``subscription_id``, ``namespaces``; ``arm_endpoint`` (override, default
    ``https://management.azure.com``). Outputs: those and ``states`` (namespace ->
    registrationState as last seen).
    """

    subscription_id: pulumi.Output[str]
    namespaces: pulumi.Output[list[str]]
    states: pulumi.Output[dict[str, str]]
    arm_endpoint: pulumi.Output[str | None]

    def __init__(
        self,
        name: str,
        subscription_id: pulumi.Input[str],
        namespaces: pulumi.Input[list[str]],
        opts: pulumi.ResourceOptions | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        super().__init__(
            ResourceProviderRegistrationProvider(retry),
            name,
            {
                "subscription_id": subscription_id,
                "namespaces": namespaces,
                "arm_endpoint": arm_endpoint,
                "states": None,
            },
            opts,
        )
