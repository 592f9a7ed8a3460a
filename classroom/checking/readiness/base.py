"""What every part of the readiness check shares: SDK errors in words a person can act on, and the
base of one student's checks (its findings and the calls that turn an SDK error into a finding)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from classroom.planning.costs import PriceTable
from lab import api_versions

from .model import (
    NOT_READY,
    READY,
    WARNING,
    CheckSettings,
    Endpoints,
    Environment,
    Finding,
    StudentStatus,
    repair_command,
)

# ----------------------------------------------------------------------------- errors in words


def _error_code(error: Exception) -> str:
    code = getattr(error, "error_code", None) or getattr(
        getattr(error, "error", None), "code", None
    )
    if code:
        return str(code)
    response = getattr(error, "response", None)
    try:
        body = json.loads(response.text()) if response is not None else {}
        return str((body.get("error") or {}).get("code") or body.get("code") or "")
    except Exception:
        return ""


def describe_error(error: Exception, what: str, service: str, settings: CheckSettings) -> str:
    """One sentence on what went wrong reading ``what`` and what to do about it."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        text = str(error).lower()
        if "timed out" in text or "timeout" in text:
            return (
                f"{what}: no answer from {service} within {settings.timeout:g} s; "
                "check again later (`--wait`), or raise `--timeout`"
            )
        return f"{what}: could not reach {service} ({type(error).__name__}); check this machine's network"
    status = getattr(error, "status_code", None)
    code = _error_code(error)
    if isinstance(error, ClientAuthenticationError) and status in (None, 401):
        return f"{what}: not signed in to Azure ({code or 'authentication failed'}); run `az login`"
    if isinstance(error, HttpResponseError) and status == 403:
        # Synapse says ClientIpAddressNotAuthorized; Storage says AuthorizationFailure for a network rule
        # (AuthorizationPermissionMismatch for a missing role).
        if (
            "ipaddress" in code.lower()
            or "firewall" in str(error).lower()
            or code == "AuthorizationFailure"
        ):
            return (
                f"{what}: the {service} firewall refuses this machine's address ({code}); "
                "add it to lab:allowedIpRanges (or lab:deployerIpAddress) and run `pulumi up`"
            )
        need = {
            "Synapse": "a Synapse role (Synapse Administrator) on the workspace",
            "Azure Storage": "Storage Blob Data Reader (or more) on the data lake",
        }.get(service, "Reader (or more) on the student's resource group")
        return (
            f"{what}: access denied ({code or '403'}); the identity running this check needs {need}"
        )
    if isinstance(error, HttpResponseError) and status is not None and status >= 500:
        return (
            f"{what}: {service} answered with a server error ({status} {code}); "
            "check again in a few minutes (`--wait`)"
        )
    if isinstance(error, HttpResponseError) and status == 429:
        return f"{what}: {service} is throttling requests (429); check again with a lower `--concurrency`"
    if isinstance(error, HttpResponseError):
        return f"{what}: {service} refused the request ({status} {code})"
    return f"{what}: unexpected {type(error).__name__}: {error}"


def _is_not_found(error: Exception) -> bool:
    from azure.core.exceptions import ResourceNotFoundError

    return isinstance(error, ResourceNotFoundError) or getattr(error, "status_code", None) == 404


def provisioning_advice(words: str, state: str | None, env: Environment) -> str:
    """What to do about a resource whose ARM provisioning state is not Succeeded."""
    # repair refreshes the student's resources, then runs a targeted up in their section:
    # the refresh sees the Failed resource, and the up applies it again.
    if state == "Failed":
        return (
            f"{words} is Failed (its provisioning failed): {repair_command(env)}; if it stays "
            "Failed, delete it in the portal and run that again"
        )
    if state == "Deleting":
        return f"{words} is Deleting: once it is gone, {repair_command(env)}"
    return (
        f"{words} is {state or 'not provisioned'}: still being created or changed; "
        "check again in a few minutes (`--wait`)"
    )


class _Skip(Exception):
    """The rest of a check group depends on what is missing: stop that group only."""


class _StudentBase:
    """What every group of checks of one student shares: the student, the clients' settings,
    the findings so far, and the calls that turn an SDK error into a finding."""

    def __init__(
        self,
        env: Environment,
        credential: Any,
        endpoints: Endpoints,
        settings: CheckSettings,
        prices: PriceTable | None,
        notebooks: Sequence[str],
        sql_scripts: Sequence[str],
    ):
        self.env, self.credential, self.endpoints, self.settings = (
            env,
            credential,
            endpoints,
            settings,
        )
        self.prices, self.notebooks, self.sql_scripts = prices, notebooks, sql_scripts
        self.status = StudentStatus(env)
        self.workspace_ready = False
        self.studio_unreachable = (
            False  # the data plane refused or failed: its RBAC check would say so again
        )
        self.priced: dict[
            str, Any
        ] = {}  # what was seen, in the shape of the program's declared inputs

    # -- findings
    def warn(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, WARNING, message))

    def problem(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, NOT_READY, message))

    def call(
        self,
        check: str,
        what: str,
        service: str,
        fn: Callable[[], Any],
        missing: str | None = None,
        stop_if_missing: bool = True,
    ) -> Any:
        """Run one SDK call; a missing resource or any error becomes a problem and skips the group
        (a missing one returns None instead when ``stop_if_missing`` is off)."""
        try:
            return fn()
        except Exception as error:  # every failure is reported on the student's row, never raised
            if missing is not None and _is_not_found(error):
                self.problem(check, missing)
                if not stop_if_missing:
                    return None
            else:
                self.problem(check, describe_error(error, what, service, self.settings))
            raise _Skip() from error

    def note(self, check: str, message: str) -> None:
        self.status.findings.append(Finding(check, READY, message))

    def read(self, check: str, words: str, resource_id: str, missing: str | None = None) -> Any:
        """One ARM resource by id, with the api-version the program writes it with
        (lab/api_versions.py), through azure-mgmt-resource's generic `resources.get_by_id`."""
        from ..readonly import ResourceManagementClient

        namespace = resource_id.split("/providers/", 1)[-1].split("/", 1)[0].lower()
        version = api_versions.BY_NAMESPACE[namespace]
        with ResourceManagementClient(
            self.credential, self.env.subscription, **self.arm_kwargs()
        ) as client:
            return self.call(
                check,
                words,
                "Azure Resource Manager",
                lambda: client.resources.get_by_id(resource_id, api_version=version),
                missing=missing or f"{words} does not exist: {repair_command(self.env)}",
            )

    def provisioned(self, check: str, words: str, resource_id: str) -> dict[str, Any]:
        """An ARM resource that must exist and have finished provisioning (else the group stops
        here). Its provisioning state is read first: a Failed or Deleting resource is a problem
        whatever else it reports. Returns the resource's `properties` (with `sku` beside them)."""
        item = self.read(check, words, resource_id)
        props = dict(getattr(item, "properties", None) or {})
        sku = getattr(item, "sku", None)
        props["_sku"] = getattr(sku, "name", None) if sku is not None else None
        current = props.get("provisioningState")
        if current != "Succeeded":
            self.problem(check, provisioning_advice(words, current, self.env))
            raise _Skip()
        return props

    def arm_kwargs(self) -> dict[str, Any]:
        return {"base_url": self.endpoints.arm, **self.settings.client_kwargs()}
