"""The cost guard in a student's workspace: the ``Pause SQL pool`` pipeline and its schedule.

One dynamic resource per student holds the pipeline and its schedule trigger(s)
(``lab.cost_guard`` builds both bodies from the pool's id, the times and the time
zone). The order follows what the service allows:

- create: PUT the pipeline, PUT each trigger, then start each trigger (a trigger
  is created Stopped and runs only once started);
- update: a trigger that changes or goes away is stopped first (a started trigger
  cannot be changed or deleted: learn.microsoft.com/azure/data-factory/continuous-integration-delivery,
  "stop triggers before deployment"), then PUT (or deleted) and started again; the
  pipeline is PUT when its body changed;
- delete: stop and delete the triggers, then delete the pipeline (a pipeline that
  a trigger references cannot be deleted).

The trigger PUT is sent as JSON through the artifacts client's pipeline, not as
the SDK's ``ScheduleTrigger`` model: the model serialises ``startTime`` as a UTC
datetime with ``Z``, which a trigger with a time zone other than UTC must not have
(see ``lab.cost_guard``). The body is still checked against the model first.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi.dynamic

from lab import cost_guard

from .. import client as _client
from ..base import LabDiffResult, LabDynamicResource, contains_unknown, diff_inputs, inputs_of
from ..client import CallContext, RetrySettings
from .artifacts import content_sha256

# arm_endpoint: ARM address override for the question a read asks when the endpoint cannot be
# reached (providers.client.WorkspaceProbe; the workspace is the one of sql_pool_id).
INPUT_KEYS = ("workspace_name", "endpoint", "sql_pool_id", "times", "time_zone", "arm_endpoint")
REPLACE_KEYS = ("workspace_name", "endpoint")


def desired(inputs: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(pipeline properties, trigger name -> trigger properties) for these inputs."""
    times, problem = cost_guard.parse_times(list(inputs.get("times") or []))
    if problem:
        raise ValueError(f"times {inputs.get('times')!r} {problem}")
    pipeline = cost_guard.pipeline_body(str(inputs["sql_pool_id"]))
    triggers = cost_guard.trigger_bodies(times, str(inputs["time_zone"])) if times else {}
    return pipeline, triggers


def check_models(pipeline: Mapping[str, Any], triggers: Mapping[str, Mapping[str, Any]]) -> None:
    """The bodies must deserialise into the SDK's models (as the service's schema requires)."""
    from azure.synapse.artifacts import models

    models.PipelineResource.deserialize({"properties": copy.deepcopy(dict(pipeline))})
    for name, body in triggers.items():
        trigger = models.Trigger.deserialize(copy.deepcopy(dict(body)))
        if not isinstance(trigger, models.ScheduleTrigger) or trigger.recurrence is None:
            raise ValueError(f"trigger '{name}' is not a schedule trigger")


def _raw_body(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """An artifact as the service sent it (the SDK's models would reformat startTime)."""
    return json.loads(pipeline_response.http_response.text())


class _DataPlane:
    """Raw requests through an ArtifactsClient's pipeline (auth, retries, TLS as the SDK's)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def send_request(self, request: Any) -> Any:
        return self._client._send_request(request)


class PauseScheduleProvider(pulumi.dynamic.ResourceProvider):
    serialize_as_secret_always = False  # nothing secret is captured

    def __init__(self, retry: RetrySettings | None = None) -> None:
        super().__init__()
        self.retry = retry or RetrySettings()

    def _target(self, inputs: Mapping[str, Any]) -> str:
        workspace = inputs["workspace_name"]
        return f"Synapse workspace '{workspace}' ({_client.synapse_endpoint(workspace, inputs.get('endpoint'))})"

    def _run(self, inputs: Mapping[str, Any], work: list[tuple[str, str, Any]]) -> None:
        """Do ``(verb, name, body)`` in order: put-pipeline, delete-pipeline, put-trigger,
        start, stop, delete-trigger; each retried on its own."""
        if not work:
            return
        from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
        from azure.core.rest import HttpRequest
        from azure.synapse.artifacts import models

        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))
        credential = _client.make_credential()
        settings = self.retry
        try:
            with _client.artifacts_client(credential, endpoint, settings) as client:
                session = _client.ArmSession(_DataPlane(client), endpoint.rstrip("/"), settings)

                def context(verb: str, name: str) -> CallContext:
                    what = {
                        "put-pipeline": f"create or update pipeline '{name}'",
                        "delete-pipeline": f"delete pipeline '{name}'",
                        "put-trigger": f"create or update trigger '{name}'",
                        "start": f"start trigger '{name}'",
                        "stop": f"stop trigger '{name}'",
                        "delete-trigger": f"delete trigger '{name}'",
                    }[verb]
                    return CallContext(what, self._target(inputs))

                for verb, name, body in work:

                    def call(seconds_left: float, verb=verb, name=name, body=body) -> None:
                        deadline = time.monotonic() + seconds_left
                        if verb == "put-pipeline":
                            resource = models.PipelineResource.deserialize(
                                {"properties": copy.deepcopy(body)}
                            )
                            poller = client.pipeline.begin_create_or_update_pipeline(name, resource)
                            _client.wait_for_poller(poller, seconds_left, f"pipeline '{name}'")
                        elif verb == "put-trigger":
                            request = HttpRequest(
                                "PUT",
                                f"{endpoint.rstrip('/')}/triggers/{_quote(name)}"
                                f"?api-version={_client.SYNAPSE_API_VERSION}",
                                json={"properties": body},
                            )
                            response = client._send_request(request)
                            response.read()
                            if response.status_code == 202:
                                session.follow(response, deadline, context(verb, name))
                            elif response.status_code != 200:
                                raise HttpResponseError(response=response)
                        elif verb in ("start", "stop"):
                            try:
                                if verb == "start":
                                    poller = client.trigger.begin_start_trigger(name)
                                else:
                                    poller = client.trigger.begin_stop_trigger(name)
                            except ResourceNotFoundError:
                                if verb == "stop":
                                    return  # nothing to stop
                                raise
                            _client.wait_for_poller(poller, seconds_left, f"trigger '{name}'")
                        else:
                            try:
                                if verb == "delete-trigger":
                                    poller = client.trigger.begin_delete_trigger(name)
                                else:
                                    poller = client.pipeline.begin_delete_pipeline(name)
                            except ResourceNotFoundError:
                                return  # already gone
                            _client.wait_for_poller(poller, seconds_left, name)

                    _client.call_with_retries(call, context(verb, name), settings)

        finally:
            _client.close_quietly(credential)

    def _outputs(
        self, inputs: Mapping[str, Any], pipeline: Mapping[str, Any], triggers: Mapping[str, Any]
    ) -> dict[str, Any]:
        return {
            **inputs,
            "pipeline_sha256": content_sha256(pipeline),
            "triggers": {name: content_sha256(body) for name, body in triggers.items()},
        }

    # -- CRUD
    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        inputs = inputs_of(props, INPUT_KEYS)
        pipeline, triggers = desired(inputs)
        check_models(pipeline, triggers)
        work: list[tuple[str, str, Any]] = [
            ("put-pipeline", cost_guard.PAUSE_PIPELINE_NAME, pipeline)
        ]
        work += [("put-trigger", name, body) for name, body in triggers.items()]
        work += [("start", name, None) for name in triggers]
        self._run(inputs, work)
        return pulumi.dynamic.CreateResult(
            f"workspaces/{inputs['workspace_name']}/pipelines/{cost_guard.PAUSE_PIPELINE_NAME}",
            outs=self._outputs(inputs, pipeline, triggers),
        )

    def diff(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.DiffResult:
        result = diff_inputs(olds, news, INPUT_KEYS, REPLACE_KEYS)
        if result.changes or contains_unknown(news):
            return result
        # Drift found by refresh (read): a trigger deleted, stopped or changed in Studio, or a
        # changed pipeline, is put back.
        pipeline, triggers = desired(inputs_of(news, INPUT_KEYS))
        old_triggers: Mapping[str, Any] = olds.get("triggers") or {}
        drifted = [
            f"triggers.{name}"
            for name in sorted(set(triggers) | set(old_triggers))
            if old_triggers.get(name)
            != (content_sha256(triggers[name]) if name in triggers else None)
        ]
        if olds.get("pipeline_sha256") not in (None, content_sha256(pipeline)):
            drifted.append("pipeline_sha256")
        if drifted:
            result = LabDiffResult(drifted, [])
        return result

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Refresh: the pipeline gone is the whole resource gone (up recreates it); a trigger
        deleted, not Started or changed, or a changed pipeline, is recorded as drift, which
        the next update repairs (bodies compared as ``cost_guard.differences`` does: fields
        the service adds are not drift). A workspace gone (its endpoint unreachable and ARM
        answering 404 for the workspace of ``sql_pool_id``) is the pipeline gone."""
        inputs = inputs_of(props, INPUT_KEYS)
        want_pipeline, want_triggers = desired(inputs)
        pipeline_sha = props.get("pipeline_sha256")
        endpoint = _client.synapse_endpoint(inputs["workspace_name"], inputs.get("endpoint"))
        probe = _client.workspace_probe(inputs, self.retry)
        credential = _client.make_credential()
        triggers: dict[str, Any] = {}
        try:
            with _client.artifacts_client(credential, endpoint, self.retry) as client:

                def pipeline(_seconds_left: float) -> Any:
                    return client.pipeline.get_pipeline(
                        cost_guard.PAUSE_PIPELINE_NAME, cls=_raw_body
                    )

                target = CallContext(
                    f"read pipeline '{cost_guard.PAUSE_PIPELINE_NAME}'", self._target(inputs)
                )
                found = _client.read_with_retries(pipeline, target, self.retry, probe=probe)
                if found is _client.GONE:
                    return pulumi.dynamic.ReadResult(None, {})  # type: ignore[arg-type]
                if pipeline_sha and cost_guard.differences(
                    want_pipeline, (found or {}).get("properties")
                ):
                    pipeline_sha = f"changed:{pipeline_sha}"
                for name, sha in (props.get("triggers") or {}).items():

                    def state(_seconds_left: float, name=name) -> str | None:
                        found: Any = client.trigger.get_trigger(name, cls=_raw_body)
                        body = (found or {}).get("properties") or {}
                        current = body.get("runtimeState")
                        if current == "Started" and cost_guard.differences(
                            want_triggers.get(name, {}), body
                        ):
                            return "changed"
                        return current

                    current = _client.read_with_retries(
                        state,
                        CallContext(f"read trigger '{name}'", self._target(inputs)),
                        self.retry,
                        probe=probe,
                    )
                    if current is _client.GONE:
                        current = None
                    triggers[name] = (
                        sha if current == "Started" else f"{(current or 'missing').lower()}:{sha}"
                    )
        finally:
            _client.close_quietly(credential)
        return pulumi.dynamic.ReadResult(
            id_, {**props, "triggers": triggers, "pipeline_sha256": pipeline_sha}
        )

    def update(
        self, _id: str, olds: dict[str, Any], news: dict[str, Any]
    ) -> pulumi.dynamic.UpdateResult:
        new = inputs_of(news, INPUT_KEYS)
        pipeline, triggers = desired(new)
        check_models(pipeline, triggers)
        old_triggers: Mapping[str, Any] = olds.get("triggers") or {}
        changed = [n for n in triggers if old_triggers.get(n) != content_sha256(triggers[n])]
        gone = sorted(set(old_triggers) - set(triggers))
        work: list[tuple[str, str, Any]] = []
        work += [("stop", name, None) for name in sorted(set(changed) & set(old_triggers)) + gone]
        work += [("delete-trigger", name, None) for name in gone]
        if olds.get("pipeline_sha256") != content_sha256(pipeline):
            work.append(("put-pipeline", cost_guard.PAUSE_PIPELINE_NAME, pipeline))
        work += [("put-trigger", name, triggers[name]) for name in changed]
        work += [("start", name, None) for name in changed]
        self._run(new, work)
        return pulumi.dynamic.UpdateResult(outs=self._outputs(new, pipeline, triggers))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        inputs = inputs_of(props, INPUT_KEYS)
        names = sorted((props.get("triggers") or {}).keys())
        work: list[tuple[str, str, Any]] = [("stop", name, None) for name in names]
        work += [("delete-trigger", name, None) for name in names]
        work.append(("delete-pipeline", cost_guard.PAUSE_PIPELINE_NAME, None))
        self._run(inputs, work)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


class PauseSchedule(LabDynamicResource, module="synapse-ml-lab", name="PauseSchedule"):
    """The ``Pause SQL pool`` pipeline and its started schedule trigger(s) in one workspace.

    :param workspace_name: the student's Synapse workspace (its identity runs the pipeline).
    :param sql_pool_id: the ARM id of the dedicated SQL pool to pause.
    :param times: ``"HH:MM"`` times (``lab:pauseSqlPoolAt``), at least one.
    :param time_zone: IANA name (``lab:timeZone``), one of ``lab.cost_guard.WINDOWS_TIME_ZONES``.
    :param endpoint: data-plane URL override (default ``https://<workspace>.dev.azuresynapse.net``).
    :param arm_endpoint: ARM address override (default ``https://management.azure.com``), for
        the question a refresh asks ARM when the endpoint cannot be reached.

    Outputs: those, ``pipeline_sha256`` and ``triggers`` (trigger name -> sha256 of its body).
    """

    workspace_name: pulumi.Output[str]
    sql_pool_id: pulumi.Output[str]
    times: pulumi.Output[list]
    time_zone: pulumi.Output[str]
    pipeline_sha256: pulumi.Output[str]
    triggers: pulumi.Output[dict]

    def __init__(
        self,
        name: str,
        workspace_name: pulumi.Input[str],
        sql_pool_id: pulumi.Input[str],
        times: list[str],
        time_zone: str,
        opts: pulumi.ResourceOptions | None = None,
        endpoint: pulumi.Input[str] | None = None,
        retry: RetrySettings | None = None,
        arm_endpoint: pulumi.Input[str] | None = None,
    ) -> None:
        parsed, problem = cost_guard.parse_times(list(times))
        if problem or not parsed:
            raise ValueError(
                f"PauseSchedule times {times!r}: {problem or 'at least one is needed'}"
            )
        if cost_guard.time_zone_problem(time_zone):
            raise ValueError(f"PauseSchedule time zone {time_zone!r} is not supported")
        super().__init__(
            PauseScheduleProvider(retry),
            name,
            {
                "workspace_name": workspace_name,
                "endpoint": endpoint,
                "sql_pool_id": sql_pool_id,
                "times": [f"{h:02d}:{m:02d}" for h, m in parsed],
                "time_zone": time_zone,
                "arm_endpoint": arm_endpoint,
                "pipeline_sha256": None,
                "triggers": None,
            },
            opts,
        )
