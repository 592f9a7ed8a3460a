"""Pause the dedicated SQL pool once, right after it is created (as the lab's setup did).

A DW100c pool bills by the hour while online; the student resumes it for part 2.
The pause is an ARM *action* (POST .../pause), which azure-native cannot express
as a resource, so :class:`SqlPoolPause` sends it on create only. Update and delete
do nothing: a later ``pulumi up`` must never pause a pool the student resumed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from .. import client as _client
from ..base import PROVIDER_KEY, LabDynamicResource, diff_inputs, from_wire, inputs_of
from ..client import CallContext, RetrySettings

INPUT_KEYS = ("sql_pool_id", "arm_endpoint")
# Another pool is another pause; a different ARM endpoint alone changes nothing.
REPLACE_KEYS = ("sql_pool_id",)


class SqlPoolPauseProvider(pulumi.dynamic.ResourceProvider):
    """create = GET status, then POST /pause and poll the operation; update/delete = nothing."""

    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    def _pause(self, inputs: Mapping[str, Any]) -> str:
        from azure.core.exceptions import HttpResponseError

        base = _client.arm_endpoint(inputs.get("arm_endpoint"))
        pool_id = "/" + str(inputs["sql_pool_id"]).strip("/")
        version = f"api-version={_client.SQL_POOL_API_VERSION}"
        settings = self.retry
        context = CallContext(
            action="pause dedicated SQL pool",
            target=f"'{pool_id}' ({base})",
            service="arm",
            extra_retry_statuses=(409,),
        )

        credential = _client.make_credential()
        try:
            with _client.arm_pipeline_client(credential, base, settings) as client:
                arm = _client.ArmSession(client, base, settings)

                def status() -> str:
                    response = arm.send("GET", f"{pool_id}?{version}")
                    if response.status_code != 200:
                        raise HttpResponseError(response=response)
                    return str(
                        (_client.json_body(response).get("properties") or {}).get("status") or ""
                    )

                def wait_until_paused(seconds_left: float) -> None:
                    deadline = time.monotonic() + seconds_left
                    while True:
                        if time.monotonic() + settings.polling_interval > deadline:
                            raise TimeoutError(
                                "the pool was still pausing when the time budget ran out"
                            )
                        time.sleep(settings.polling_interval)
                        current = status().lower()
                        if current == "paused":
                            return
                        if current != "pausing":
                            raise HttpResponseError(
                                message=f"the pool went from Pausing to {current!r}"
                            )

                def settled(current: str, seconds_left: float) -> str | None:
                    if current.lower() == "paused":
                        return "already paused"
                    if current.lower() == "pausing":
                        # Ours from an earlier attempt, or someone else's: see it through.
                        wait_until_paused(seconds_left)
                        return "paused"
                    return None

                def attempt(seconds_left: float) -> str:
                    deadline = time.monotonic() + seconds_left
                    done = settled(status(), seconds_left)
                    if done:
                        return done
                    response = arm.send("POST", f"{pool_id}/pause?{version}")
                    if response.status_code == 409:
                        # Busy (creating, scaling, resuming) or already pausing: look again.
                        done = settled(status(), deadline - time.monotonic())
                        if done:
                            return done
                        raise HttpResponseError(response=response)
                    if response.status_code == 202:
                        arm.follow(response, deadline, context)
                    elif response.status_code != 200:
                        raise HttpResponseError(response=response)
                    return "paused"

                return _client.call_with_retries(attempt, context, settings)
        finally:
            _client.close_quietly(credential)

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        result = self._pause(inputs)
        return pulumi.dynamic.CreateResult(
            f"{inputs['sql_pool_id']}/pause", outs={**inputs, "pause_result": result}
        )

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Nothing to repair: a student may resume their pool. Gone only when the pool is.

        GET the pool (retried as the pause is): 404 -> gone, so that refresh drops
        this resource and the ``up`` that re-creates the pool pauses the new one
        once; any status -> the state as it was (never a reason to pause again).
        """
        from azure.core.exceptions import HttpResponseError

        state = {k: v for k, v in from_wire(dict(props)).items() if k != PROVIDER_KEY}
        inputs = inputs_of(state, INPUT_KEYS)
        base = _client.arm_endpoint(inputs.get("arm_endpoint"))
        pool_id = "/" + str(inputs["sql_pool_id"]).strip("/")
        context = CallContext(
            action="read dedicated SQL pool", target=f"'{pool_id}' ({base})", service="arm"
        )
        credential = _client.make_credential()
        try:
            with _client.arm_pipeline_client(credential, base, self.retry) as client:
                arm = _client.ArmSession(client, base, self.retry)

                def get(_seconds_left: float) -> Any:
                    response = arm.send(
                        "GET", f"{pool_id}?api-version={_client.SQL_POOL_API_VERSION}"
                    )
                    if response.status_code != 200:
                        raise HttpResponseError(response=response)
                    return response

                found = _client.read_with_retries(get, context, self.retry)
        finally:
            _client.close_quietly(credential)
        if found is _client.GONE:
            return pulumi.dynamic.ReadResult(None, {})
        return pulumi.dynamic.ReadResult(id_, state)

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        result = diff_inputs(olds, news, INPUT_KEYS, REPLACE_KEYS)
        # Nothing to tear down, so the new pause may come first.
        if result.replaces:
            result.delete_before_replace = False
        return result

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        # Never pause again: the student may have resumed the pool on purpose.
        outs = inputs_of(news, INPUT_KEYS)
        if olds.get("pause_result") is not None:
            outs["pause_result"] = olds["pause_result"]
        return pulumi.dynamic.UpdateResult(outs=outs)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        return None  # the pool's own lifecycle belongs to azure-native


class SqlPoolPause(LabDynamicResource, module="synapse-ml-lab", name="SqlPoolPause"):
    """Pauses the dedicated SQL pool ``sql_pool_id`` (its ARM id) when first created.

    Inputs: ``sql_pool_id``; ``arm_endpoint`` (override, default
    ``https://management.azure.com``). Outputs: those, and ``pause_result``
    (``paused``, ``already paused`` or ``already pausing``).
    Declare it after the pool (it takes the pool's id) and after whatever must run
    on the online pool, via ``depends_on``.
    """

    sql_pool_id: pulumi.Output[str]
    arm_endpoint: pulumi.Output[str | None]
    pause_result: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        sql_pool_id: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
    ) -> None:
        super().__init__(
            SqlPoolPauseProvider(retry),
            name,
            {"sql_pool_id": sql_pool_id, "arm_endpoint": arm_endpoint, "pause_result": None},
            opts,
        )
