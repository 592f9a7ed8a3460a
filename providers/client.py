"""Credentials, endpoints, clients and the one retry loop every data-plane call goes through.

Retry design (one loop, the SDK's own retries off):
- Every client is built with ``retry_total=0``: azure-core's RetryPolicy never
  retries 403, and not every POST, so it cannot cover RBAC / firewall propagation;
  keeping it on as well would multiply the attempts of the two loops.
- :func:`call_with_retries` runs one whole idempotent operation (a PUT by name and
  its long-running-operation polling, a DELETE, the pause POST) and repeats it on
  429 (sleeping ``Retry-After`` when the service sends it), 408, 5xx, 403 and
  connection errors / timeouts, with exponential backoff and full jitter.
- It is bounded twice, by attempts and by total seconds (:class:`RetrySettings`);
  when either runs out it raises :class:`DataPlaneError`, whose message names the
  service, the artifact, what happened last and what to check.
- Long-running operations are polled every ``polling_interval`` seconds unless the
  service asks for longer (``Retry-After``), and never past the time budget.

Nothing here holds module-level mutable state: providers are pickled with dill and
run in another process, so they build credentials and clients inside each call.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from lab import api_versions

SYNAPSE_SCOPE = "https://dev.azuresynapse.net/.default"
ARM_SCOPE = "https://management.azure.com/.default"
DEFAULT_ARM_ENDPOINT = "https://management.azure.com"
# The api-versions live in lab/api_versions.py, shared with `classroom status`.
SYNAPSE_API_VERSION = api_versions.SYNAPSE_DATA_PLANE
SQL_POOL_API_VERSION = api_versions.SYNAPSE

T = TypeVar("T")


def make_credential():
    """The credential every provider uses (providers/credentials.py: GitHub OIDC in CI, else
    DefaultAzureCredential). Tests replace this one function."""
    from .credentials import make_credential as shared

    return shared()


def close_quietly(obj: Any) -> None:
    close = getattr(obj, "close", None)
    if callable(close):
        # Closing is best effort: the call itself already succeeded or failed.
        with contextlib.suppress(Exception):
            close()


def synapse_endpoint(workspace_name: str, endpoint: str | None = None) -> str:
    """``https://<workspace>.dev.azuresynapse.net`` unless an override is given."""
    return (endpoint or f"https://{workspace_name}.dev.azuresynapse.net").rstrip("/")


def arm_endpoint(endpoint: str | None = None) -> str:
    return (endpoint or DEFAULT_ARM_ENDPOINT).rstrip("/")


@dataclass(frozen=True)
class RetrySettings:
    """Bounds of the retry loop; the defaults ride out RBAC/firewall propagation.

    With full jitter the sleeps are uniform in ``[0, min(max_delay,
    initial_delay * 2**n)]``: 8 attempts sleep at most 5+10+20+40+80+120+120 s,
    and ``max_total_seconds`` caps the whole operation including its polling.
    """

    max_attempts: int = 8
    max_total_seconds: float = 600.0
    initial_delay: float = 5.0
    max_delay: float = 120.0
    # azure-core's default is 30 s whenever the service answers Retry-After: 0.
    polling_interval: float = 2.0
    connection_timeout: float = 30.0
    read_timeout: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetrySettings.max_attempts must be at least 1")
        for field_name in (
            "max_total_seconds",
            "initial_delay",
            "max_delay",
            "polling_interval",
            "connection_timeout",
            "read_timeout",
        ):
            if getattr(self, field_name) < 0:
                raise ValueError(f"RetrySettings.{field_name} must not be negative")

    def client_kwargs(self) -> dict[str, Any]:
        """kwargs for azure-core based clients: no SDK retries, our timeouts and polling."""
        return {
            "retry_total": 0,
            "polling_interval": self.polling_interval,
            "connection_timeout": self.connection_timeout,
            "read_timeout": self.read_timeout,
        }


class DataPlaneError(RuntimeError):
    """A call failed for good (not retryable, or retries exhausted)."""

    def __init__(self, message: str, status: int | None = None, attempts: int = 0):
        super().__init__(message)
        self.status = status
        self.attempts = attempts


@dataclass(frozen=True)
class CallContext:
    """What is being done, where: the words of the final error message."""

    action: str  # e.g. "create notebook '01-load-data'"
    target: str  # e.g. "Synapse workspace 'synapseabc1234' (https://...)"
    service: str = "synapse"  # "synapse" (data plane) or "arm"
    # Extra statuses worth retrying for this call (e.g. 409 while an ARM pool is busy).
    extra_retry_statuses: tuple[int, ...] = ()


_FIREWALL_MARKERS = ("clientipaddressnotauthorized", "ip address", "firewall", "client ip")


def _response_text(error: HttpResponseError) -> str:
    response = getattr(error, "response", None)
    if response is None:
        return str(error)
    try:
        return response.text()
    except Exception:
        return str(error)


def is_firewall_block(error: HttpResponseError) -> bool:
    text = _response_text(error).lower()
    return any(marker in text for marker in _FIREWALL_MARKERS)


def _error_summary(error: BaseException) -> str:
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        text = _response_text(error).strip()
        try:
            body = json.loads(text)
            inner = body.get("error", body) if isinstance(body, dict) else {}
            code, message = inner.get("code"), inner.get("message")
            if code or message:
                text = f"{code}: {message}" if code else str(message)
        except (ValueError, AttributeError):
            pass
        if len(text) > 400:
            text = text[:400] + "..."
        return f"HTTP {error.status_code} {error.reason or ''}".rstrip() + (
            f" - {text}" if text else ""
        )
    return f"{type(error).__name__}: {error}"


def _hint(context: CallContext, error: BaseException) -> str:
    if isinstance(error, WorkspaceUnreachable):
        return error.hint
    status = getattr(error, "status_code", None)
    if status == 403:
        if context.service == "synapse" and is_firewall_block(error):  # type: ignore[arg-type]
            return (
                "The deployer's IP address is blocked by the workspace firewall: set config "
                "`lab:deployerIpAddress` to the public IP address that runs `pulumi up` (it adds a "
                "firewall rule for it), or widen `lab:allowedIpRanges`, then run `pulumi up` again."
            )
        if context.service == "synapse":
            return (
                "The identity running `pulumi up` lacks Synapse RBAC permission: it needs the Synapse "
                "Administrator role in the workspace (the workspace creator gets it automatically). New "
                "role assignments take several minutes to propagate; check them in Synapse Studio > "
                "Manage > Access control and run `pulumi up` again."
            )
        return (
            "Azure Resource Manager refused the call: the identity running `pulumi up` needs "
            "Contributor (or Owner) on the resource; new Azure role assignments can take a few "
            "minutes to propagate."
        )
    if status == 429:
        return "The service kept throttling the requests; wait a few minutes and run `pulumi up` again."
    if status is not None and status >= 500:
        return (
            "The service kept failing; check Azure status for the region and run `pulumi up` again."
        )
    if status in (400, 404, 409, 412):
        return "The service rejected the request; check the names and values it refers to."
    if status == 401 or isinstance(error, ClientAuthenticationError):
        return (
            "Authentication failed: sign in with `az login` (or configure the identity "
            "DefaultAzureCredential uses; in GitHub Actions: `id-token: write` and "
            "AZURE_CLIENT_ID/AZURE_TENANT_ID, see README)."
        )
    if isinstance(error, (ServiceRequestError, ServiceResponseError)):
        return (
            "The endpoint could not be reached or did not answer in time; check the network, DNS and "
            "that the workspace exists."
        )
    if isinstance(error, TimeoutError):
        return "The long-running operation did not finish within the time budget."
    return "Check the message above."


def _retry_after_seconds(error: BaseException) -> float | None:
    response = getattr(error, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    for header in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(header)
        if value:
            try:
                return max(0.0, float(value) / 1000.0)
            except ValueError:
                pass
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def is_retryable(error: BaseException, context: CallContext) -> bool:
    if isinstance(error, ClientAuthenticationError) and error.status_code is None:
        return False  # no token at all (not signed in): waiting will not help
    if isinstance(error, HttpResponseError) and error.status_code is not None:
        status = error.status_code
        return status in (403, 408, 429) or status >= 500 or status in context.extra_retry_statuses
    return isinstance(
        error, (ServiceRequestError, ServiceResponseError, ConnectionError, TimeoutError)
    )


def call_with_retries(
    operation: Callable[[float], T],
    context: CallContext,
    settings: RetrySettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    rng: random.Random | None = None,
) -> T:
    """Run ``operation(seconds_left)`` until it succeeds, a bound is hit, or it fails for good.

    ``operation`` must be idempotent; it receives the seconds left in the budget so
    it can bound its own long-running-operation polling.
    """
    rng = rng or random.Random()
    start = clock()
    deadline = start + settings.max_total_seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            return operation(max(0.0, deadline - clock()))
        except Exception as error:  # classified below; anything else is re-raised untouched
            if not isinstance(
                error,
                (
                    HttpResponseError,
                    ServiceRequestError,
                    ServiceResponseError,
                    ConnectionError,
                    TimeoutError,
                ),
            ):
                raise
            retryable = is_retryable(error, context)
            delay = None
            if retryable and attempt < settings.max_attempts:
                backoff = rng.uniform(
                    0.0, min(settings.max_delay, settings.initial_delay * (2 ** (attempt - 1)))
                )
                retry_after = _retry_after_seconds(error)
                delay = backoff if retry_after is None else max(retry_after, 0.0)
                if clock() + delay > deadline:
                    delay = None
            if delay is None:
                elapsed = clock() - start
                if retryable:
                    why = f"gave up after {attempt} attempt(s) in {elapsed:.1f}s"
                else:
                    why = "failed"
                status = getattr(error, "status_code", None)
                raise DataPlaneError(
                    f"{context.action} in {context.target} {why}: {_error_summary(error)}. "
                    f"{_hint(context, error)}",
                    status=status,
                    attempts=attempt,
                ) from error
            sleep(delay)


def wait_for_poller(poller: Any, seconds_left: float, what: str) -> Any:
    """``poller.result()`` bounded by the time budget (LROPoller waits forever otherwise)."""
    result = poller.result(timeout=max(seconds_left, 0.001))
    if not poller.done():
        raise TimeoutError(
            f"{what}: the long-running operation was still running when the time budget ran out"
        )
    return result


def artifacts_client(credential: Any, endpoint: str, settings: RetrySettings):
    from azure.synapse.artifacts import ArtifactsClient

    return ArtifactsClient(credential, endpoint, **settings.client_kwargs())


def access_control_client(credential: Any, endpoint: str, settings: RetrySettings):
    from azure.synapse.accesscontrol import AccessControlClient

    return AccessControlClient(credential, endpoint, **settings.client_kwargs())


def arm_pipeline_client(credential: Any, base_url: str, settings: RetrySettings):
    """A bare azure-core client for the few ARM actions azure-native cannot express."""
    from azure.core import PipelineClient
    from azure.core.pipeline import policies

    kwargs = settings.client_kwargs()
    kwargs.pop("polling_interval")
    return PipelineClient(
        base_url=base_url,
        policies=[
            policies.RequestIdPolicy(),
            policies.HeadersPolicy(),
            policies.UserAgentPolicy(sdk_moniker="synapse-ml-lab"),
            policies.ContentDecodePolicy(),
            policies.RetryPolicy(**kwargs),
            policies.BearerTokenCredentialPolicy(credential, ARM_SCOPE),
            policies.NetworkTraceLoggingPolicy(),
        ],
        **kwargs,
    )


# ----------------------------------------------------------------------------- ARM requests

TERMINAL_FAILED = ("failed", "canceled", "cancelled")


def retry_after(response: Any, default: float) -> float:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def json_body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except Exception:  # an empty or non-JSON body says nothing more
        return {}
    return body if isinstance(body, dict) else {}


class ArmSession:
    """The pipeline client of one delete: send a request, follow a long-running operation."""

    def __init__(self, client: Any, base: str, settings: RetrySettings) -> None:
        self.client, self.base, self.settings = client, base, settings

    def send(self, method: str, path_or_url: str) -> Any:
        from azure.core.rest import HttpRequest

        url = path_or_url if path_or_url.startswith("https://") else f"{self.base}{path_or_url}"
        response = self.client.send_request(HttpRequest(method, url))
        response.read()
        return response

    def follow(self, response: Any, deadline: float, context: CallContext) -> None:
        """Poll a 202's ``Azure-AsyncOperation`` (or else ``Location``) until the operation ends."""
        from azure.core.exceptions import HttpResponseError

        operation = response.headers.get("Azure-AsyncOperation")
        location = response.headers.get("Location")
        if not operation and not location:
            return  # accepted with nothing to follow: the service takes it from here
        while True:
            delay = min(
                retry_after(response, self.settings.polling_interval), self.settings.max_delay
            )
            if time.monotonic() + delay > deadline:
                raise TimeoutError(
                    f"{context.action}: the operation was still running when the time budget ran out"
                )
            time.sleep(delay)
            response = self.send("GET", operation or location)
            if response.status_code >= 400:
                raise HttpResponseError(response=response)
            if operation:
                body = json_body(response)
                state = str(body.get("status", "")).lower()
                if state == "succeeded":
                    return
                if state in TERMINAL_FAILED:
                    found = body.get("error")
                    error: dict[str, Any] = found if isinstance(found, dict) else {}
                    detail = (
                        ": ".join(str(error[k]) for k in ("code", "message") if error.get(k))
                        or "no details"
                    )
                    raise DataPlaneError(
                        f"{context.action} in {context.target}: the operation ended {body.get('status')} ({detail}).",
                        status=response.status_code,
                    )
            elif response.status_code != 202:
                return


# ----------------------------------------------------------------------------- reads (refresh)


class _Gone:
    """What a read returns when the service answered 404."""

    def __repr__(self) -> str:
        return "GONE"


GONE: Any = _Gone()


# ----------------------------------------------------------------------------- the workspace itself

# An ARM id of a Synapse workspace, or of one of its children (a SQL pool): the workspace part.
_WORKSPACE_ID = re.compile(
    r"^(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Synapse/workspaces/[^/]+)(?:/.*)?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class WorkspaceRef:
    """Where Azure Resource Manager keeps the workspace a data-plane resource lives in."""

    resource_id: str
    arm_endpoint: str | None = None


def workspace_ref(inputs: Any) -> WorkspaceRef | None:
    """The workspace of a data-plane resource's inputs: ``workspace_id``, else the workspace
    part of ``sql_pool_id``; ``arm_endpoint`` overrides ARM's address (tests). None when the
    state names neither (written before the resources recorded it)."""
    for key in ("workspace_id", "sql_pool_id"):
        value = inputs.get(key)
        if isinstance(value, str):
            found = _WORKSPACE_ID.match("/" + value.strip("/"))
            if found:
                return WorkspaceRef(found.group(1), inputs.get("arm_endpoint") or None)
    return None


class WorkspaceUnreachable(ServiceRequestError):
    """The workspace's endpoint cannot be reached although ARM says the workspace exists."""

    def __init__(self, error: ServiceRequestError, ref: WorkspaceRef) -> None:
        super().__init__(f"{error} (the workspace exists: {ref.resource_id})", error=error)
        self.hint = (
            "The workspace exists in Azure Resource Manager, but its endpoint could not be "
            "reached from this machine: check that the name <workspace>.dev.azuresynapse.net "
            "resolves here (DNS, a proxy, a private DNS zone) and that no network firewall or "
            "proxy blocks HTTPS to it, then run again."
        )


class WorkspaceProbe:
    """Asks ARM, at most once per read, whether the workspace of an unreachable endpoint exists.

    A deleted workspace's endpoint has no one behind it: its name most likely no
    longer resolves, or nothing answers (docs/pilot-checklist.md: only real Azure
    can confirm which). ARM answers for the workspace itself (Workspaces - Get,
    Microsoft.Synapse at the pinned api-version): 404 means it is gone, and so is
    everything in it; 200 means it is there and the endpoint is a network problem.
    """

    def __init__(self, ref: WorkspaceRef, settings: RetrySettings) -> None:
        self.ref, self.settings = ref, settings
        self.exists: bool | None = None

    def check(self) -> bool:
        if self.exists is None:
            self.exists = workspace_exists(self.ref, self.settings)
        return self.exists


def workspace_probe(inputs: Any, settings: RetrySettings) -> WorkspaceProbe | None:
    ref = workspace_ref(inputs)
    return WorkspaceProbe(ref, settings) if ref is not None else None


def workspace_exists(ref: WorkspaceRef, settings: RetrySettings) -> bool:
    """GET the workspace by id from ARM (retried as any call): 200 True, 404 False."""
    base = arm_endpoint(ref.arm_endpoint)
    path = f"{ref.resource_id}?api-version={api_versions.SYNAPSE}"
    context = CallContext(
        action="ask whether the workspace exists (its endpoint could not be reached)",
        target=f"'{ref.resource_id}' ({base})",
        service="arm",
    )
    credential = make_credential()
    try:
        with arm_pipeline_client(credential, base, settings) as client:
            arm = ArmSession(client, base, settings)

            def get(_seconds_left: float) -> bool:
                response = arm.send("GET", path)
                if response.status_code == 404:
                    return False
                if response.status_code != 200:
                    raise HttpResponseError(response=response)
                return True

            return call_with_retries(get, context, settings)
    finally:
        close_quietly(credential)


def read_with_retries(
    operation: Callable[[float], T],
    context: CallContext,
    settings: RetrySettings,
    *,
    probe: WorkspaceProbe | None = None,
    **kwargs: Any,
) -> T:
    """``call_with_retries`` for a read: a 404 returns :data:`GONE`, nothing else does.

    Refresh must never drop something from the state because of a transient
    error: 429, 5xx, dropped connections and the 403s of role or firewall
    propagation are retried exactly as a create is, and a read that still fails
    raises :class:`DataPlaneError` (the refresh fails, the state stays). Only the
    service saying "not found" means gone.

    With a ``probe`` (the workspace's ARM id), an endpoint that cannot be reached at
    all (name not resolved, connection refused: azure-core's ``ServiceRequestError``)
    makes the read ask ARM, on the first such error, whether the workspace exists: a
    404 there is gone too, for this read and every later one sharing the probe; a
    workspace that exists leaves the error to the usual retries, and the final error
    says what to check.
    """

    def attempt(seconds_left: float) -> Any:
        if probe is not None and probe.exists is False:
            return GONE
        try:
            return operation(seconds_left)
        except HttpResponseError as error:
            if error.status_code == 404:
                return GONE
            raise
        except ServiceRequestError as error:
            if probe is None:
                raise
            if not probe.check():
                return GONE
            raise WorkspaceUnreachable(error, probe.ref) from error

    return call_with_retries(attempt, context, settings, **kwargs)


def raw_body(pipeline_response: Any, _model: Any = None, _headers: Any = None) -> dict[str, Any]:
    """An SDK call's ``cls=``: the JSON body exactly as the service sent it (not the model)."""
    try:
        body = json.loads(pipeline_response.http_response.text() or "{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
