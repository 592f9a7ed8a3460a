"""Is each student's cost guard still on? The ``Pause SQL pool`` pipeline and its schedule as deployed.

The program puts a pipeline and one or more schedule triggers in every workspace with a
dedicated SQL pool (providers/synapse/pause_schedule.py, bodies from lab/cost_guard.py)
and starts the triggers. A student who holds Synapse Administrator can stop a trigger,
delete it or the pipeline, or change them in Synapse Studio; nothing else would notice,
and the pool would run all night. This reads, through the Synapse data plane (REST spec
azure-rest-api-specs specification/synapse/data-plane/Microsoft.Synapse/stable/2020-12-01,
artifacts.json; the calls of azure-synapse-artifacts' ArtifactsClient):

- ``GET /pipelines/{name}`` and ``GET /triggers/{name}``: each exists; each trigger's
  ``runtimeState`` (read-only, Started / Stopped / Disabled: entityTypes/Trigger.json,
  TriggerRuntimeState) is Started; the bodies are the ones lab/cost_guard.py builds for
  this student's settings (fields the service adds are ignored: ``cost_guard.differences``);
- ``POST /queryPipelineRuns`` (PipelineRun_QueryPipelineRunsByWorkspace, example
  PipelineRuns_QueryByWorkspace.json), filtered by ``PipelineName``: the last run's
  status (Queued, InProgress, Succeeded, Failed, Canceling, Cancelled).

A stopped, deleted or changed guard is "off", a last run that Failed is "failing": both
are problems whose fix is `classroom repair` (its refresh sees the drift, its update puts
the pipeline and triggers back and starts them). A stack without a SQL pool, or with
``lab:pauseSqlPoolAt: []``, has no guard by design ("not scheduled"): no problem. The
state goes to the JSON report (``costGuard``) and the class page's cost-guard column.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lab import cost_guard

from .readiness.model import repair_command

ON, OFF, FAILING, NOT_SCHEDULED, UNKNOWN = "on", "off", "failing", "not scheduled", "unknown"
# States that the class page counts in its banner: the pool may run all night.
GUARD_DOWN = (OFF, FAILING)
RUN_STATUSES = ("Queued", "InProgress", "Succeeded", "Failed", "Canceling", "Cancelled")
# The schedule runs daily: the last two days hold its last run (or show that it has none).
LOOKBACK = dt.timedelta(days=2)
CHECK = "cost guard"


def _raw(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """The body as the service sent it (the SDK's models would reformat startTime)."""
    return json.loads(pipeline_response.http_response.text())


def _expected(env: Any, region: str | None) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
    """(schedule in words, the pipeline body, trigger name -> body or None when the settings
    cannot be read: then only existence, runtimeState and runs are checked)."""
    pool_id = f"{env.synapse_workspace_id}/sqlPools/{env.sql_pool}"
    pipeline = cost_guard.pipeline_body(pool_id)
    zone = env.time_zone or cost_guard.default_time_zone(region)
    times, problem = cost_guard.parse_times(list(env.pause_times or []))
    if env.pause_times is None or problem or zone not in cost_guard.WINDOWS_TIME_ZONES:
        return "as configured", pipeline, None
    words = f"{', '.join(f'{h:02d}:{m:02d}' for h, m in times)} {zone}"
    return words, pipeline, cost_guard.trigger_bodies(times, zone)


def _pool_id_folded(body: Any) -> Any:
    """The pipeline with its SqlPoolId default in lower case (ARM ids are case-insensitive)."""
    try:
        value = body["parameters"]["SqlPoolId"]["defaultValue"]
    except (KeyError, TypeError):
        return body
    if not isinstance(value, str):
        return body
    return {
        **body,
        "parameters": {
            **body["parameters"],
            "SqlPoolId": {**body["parameters"]["SqlPoolId"], "defaultValue": value.lower()},
        },
    }


def _when(value: Any) -> str | None:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="minutes")
    return str(value) if value else None


def check(student: Any) -> None:
    """The cost guard of ``student`` (a checks._Student): findings and ``status.guard``."""
    env, status = student.env, student.status
    if not env.sql_pool:
        status.guard = {"state": NOT_SCHEDULED, "reason": "no dedicated SQL pool"}
        return
    if env.pause_times is not None and not env.pause_times:
        status.guard = {"state": NOT_SCHEDULED, "reason": "lab:pauseSqlPoolAt is [] (off)"}
        return
    schedule, pipeline_want, triggers_want = _expected(env, status.region)
    guard: dict[str, Any] = {
        "state": UNKNOWN,
        "schedule": schedule,
        "reasons": [],
        "triggers": {},
        "lastRun": None,
    }
    status.guard = guard
    if not student.workspace_ready or student.studio_unreachable:
        guard["reason"] = "not read: the Synapse workspace could not be read (see its problem)"
        return
    try:
        _read(student, guard, pipeline_want, triggers_want)
    finally:  # what was found off stays off even when a later call failed
        if guard["reasons"]:
            guard["state"] = OFF


def _read(
    student: Any,
    guard: dict[str, Any],
    pipeline_want: dict[str, Any],
    triggers_want: dict[str, Any] | None,
) -> None:
    from .readonly import ArtifactsClient

    env = student.env
    fix = repair_command(env)
    where = f"Synapse workspace '{env.synapse_workspace}'"
    off = f"the SQL pool no longer pauses itself at {guard['schedule']}: {fix}"
    reasons: list[str] = guard["reasons"]

    def down(reason: str, message: str) -> None:
        reasons.append(reason)
        student.problem(CHECK, message)

    endpoint = student.endpoints.synapse.format(workspace=env.synapse_workspace)
    with ArtifactsClient(
        student.credential, endpoint, **student.settings.client_kwargs()
    ) as client:
        name = cost_guard.PAUSE_PIPELINE_NAME
        pipeline = student.call(
            CHECK,
            f"pipeline '{name}' in {where}",
            "Synapse",
            lambda: client.pipeline.get_pipeline(name, cls=_raw),
            missing=f"the cost guard is off: pipeline '{name}' is missing from {where} "
            f"(deleted?); {off}",
            stop_if_missing=False,
        )
        if pipeline is None:
            reasons.append("pipeline deleted")
        else:
            changed = cost_guard.differences(
                _pool_id_folded(pipeline_want),
                _pool_id_folded(pipeline.get("properties") or {}),
            )
            if changed:
                down(
                    "pipeline changed",
                    f"the cost guard was changed: pipeline '{name}' in {where} differs from "
                    f"what the program deployed ({', '.join(changed[:4])}); {off}",
                )
        for trigger_name in list(triggers_want or [cost_guard.PAUSE_TRIGGER_NAME]):
            trigger = student.call(
                CHECK,
                f"trigger '{trigger_name}' in {where}",
                "Synapse",
                lambda trigger_name=trigger_name: client.trigger.get_trigger(
                    trigger_name, cls=_raw
                ),
                missing=f"the cost guard is off: trigger '{trigger_name}' is missing from "
                f"{where} (deleted?); {off}",
                stop_if_missing=False,
            )
            if trigger is None:
                guard["triggers"][trigger_name] = None
                reasons.append("trigger deleted")
                continue
            props = trigger.get("properties") or {}
            state = props.get("runtimeState")
            guard["triggers"][trigger_name] = state
            if state != "Started":
                down(
                    f"trigger {str(state or 'not started').lower()}",
                    f"the cost guard is off: trigger '{trigger_name}' in {where} is "
                    f"{state or 'not started'}; {off}",
                )
            if triggers_want is not None:
                changed = cost_guard.differences(triggers_want[trigger_name], props)
                if changed:
                    down(
                        "trigger changed",
                        f"the cost guard was changed: trigger '{trigger_name}' in {where} "
                        f"differs from what the program deployed ({', '.join(changed[:4])}); {off}",
                    )
        if pipeline is not None:
            _last_run(student, client, guard, where, fix)
    if reasons:
        guard["state"] = OFF
    elif (guard["lastRun"] or {}).get("status") == "Failed":
        guard["state"] = FAILING
    else:
        guard["state"] = ON


def _last_run(student: Any, client: Any, guard: dict[str, Any], where: str, fix: str) -> None:
    """The newest run of the pipeline in the last two days, through the pipeline-runs query."""
    from azure.synapse.artifacts import models

    name = cost_guard.PAUSE_PIPELINE_NAME
    now = dt.datetime.now(dt.UTC)
    query = models.RunFilterParameters(
        last_updated_after=now - LOOKBACK,
        last_updated_before=now,
        filters=[models.RunQueryFilter(operand="PipelineName", operator="Equals", values=[name])],
        order_by=[models.RunQueryOrderBy(order_by="RunStart", order="DESC")],
    )
    found = student.call(
        CHECK,
        f"the runs of pipeline '{name}' in {where}",
        "Synapse",
        lambda: client.pipeline_run.query_pipeline_runs_by_workspace(query),
    )
    runs = [r for r in (found.value or []) if r.pipeline_name in (None, name)]
    if not runs:  # a guard deployed today has not run yet: the page says "no run yet"
        return
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    last = max(runs, key=lambda r: r.run_start or epoch)
    guard["lastRun"] = {
        "status": last.status,
        "runStart": _when(last.run_start),
        "runEnd": _when(last.run_end),
        "message": (last.message or "")[:300],
    }
    at = last.run_end or last.run_start
    when = at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC") if at else "?"
    if last.status == "Failed":
        student.problem(
            CHECK,
            f"the cost guard is failing: the last run of pipeline '{name}' ({when}) Failed"
            + (f" ({guard['lastRun']['message']})" if last.message else "")
            + f"; the SQL pool may not have paused: {fix}",
        )
    elif last.status == "Cancelled":
        student.warn(
            CHECK,
            f"the last run of pipeline '{name}' ({when}) was Cancelled: the SQL pool may not "
            "have paused that night",
        )
