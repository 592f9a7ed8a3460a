"""Reading each student's evidence of the lab's steps (lab/steps.py) from Azure.

Three sources, each read with its own SDK and its own failure in words:

- the lake: the Blob API (azure-storage-blob) lists the table's files and reads the model
  rows' properties; ADLS Gen2 accounts answer the Blob API too ("Blob storage features
  available in Azure Data Lake Storage", multi-protocol access);
- Azure ML: azure-ai-ml ``MLClient.jobs.list()`` and ``MLClient.models.list(name=...)``;
- Log Analytics: azure-monitor-query ``LogsQueryClient.query_workspace`` with up to 100
  workspaces per query (``additional_workspaces``), rows told apart by ``TenantId``.

Nothing here changes anything in Azure: every call is a read, and the clients come from
readonly.py, which refuses to send anything else and never registers a namespace.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab import steps
from lab.steps import DONE, FAILED, NOT_YET, RUNNING, UNKNOWN

from .checks import Environment, azure_core_kwargs

LOGS_AUDIENCE = "https://api.loganalytics.io"
# One query may span up to 100 workspaces (MicrosoftDocs/azure-docs
# includes/azure-monitor-limits-log-queries.md, "Cross resource queries"; the query API's own page,
# logs/api/cross-workspace-queries.md, says 10: a refused batch is asked one workspace at a time).
LOGS_BATCH = 100
# How far back the logs are read: the lab's log retention (components/machine_learning.py).
LOGS_LOOKBACK = dt.timedelta(days=30)
# "Last night's" pause: a run in the last 26 hours (a day, and room for the schedule's minutes).
PAUSE_WINDOW = dt.timedelta(hours=26)

# Pipeline run statuses (Synapse/Data Factory: Queued, InProgress, Succeeded, Failed, Cancelled)
# and SQL request statuses (sys.dm_pdw_exec_requests.status: Running, Suspended, Cancelled,
# Completed, Failed).
_LOG_STATES = {
    "Succeeded": DONE,
    "Completed": DONE,
    "Failed": FAILED,
    "Cancelled": FAILED,
    "Canceled": FAILED,
    "InProgress": RUNNING,
    "Queued": RUNNING,
    "Running": RUNNING,
    "Suspended": RUNNING,
}


def _kql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def progress_query() -> str:
    """The one KQL query: the latest PREDICT (the EXEC of the procedure) and the latest pause run.

    ``union isfuzzy=true``: a workspace that has no row of a table yet has no such table, and a
    fuzzy union skips it instead of failing (KQL union operator). Pipeline runs write one row per
    state change (Data Factory's log; unconfirmed for Synapse): the latest row of each run first.
    """
    procedure = steps.PREDICT_PROCEDURE.replace(".", r"\.")
    return f"""union isfuzzy=true
(
    {steps.SQL_REQUESTS_TABLE}
    | where Command matches regex @"(?i)\\bEXEC(UTE)?\\s+{procedure}\\b"
    | summarize arg_max(TimeGenerated, Status) by TenantId
    | extend Evidence = "predicted"
),
(
    {steps.PIPELINE_RUNS_TABLE}
    | where PipelineName == {_kql_string(steps.PAUSE_PIPELINE)}
    | summarize arg_max(TimeGenerated, Status) by TenantId, RunId
    | summarize arg_max(TimeGenerated, Status) by TenantId
    | extend Evidence = "paused"
)
| project TenantId, Evidence, At = TimeGenerated, Status"""


@dataclass
class StepState:
    state: str = NOT_YET
    at: dt.datetime | None = None
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "at": self.at.astimezone(dt.UTC).isoformat(timespec="seconds") if self.at else None,
            "detail": self.detail,
        }


@dataclass
class Evidence:
    """What one source said about one student: step states, or why it could not be read."""

    states: dict[str, StepState] = field(default_factory=dict)
    problem: str = ""


def _aware(value: Any) -> dt.datetime | None:
    if not isinstance(value, dt.datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def describe_error(error: Exception, what: str, hint_403: str, subscription: str = "") -> str:
    """A failed read in words: what could not be read, the service's code, what to do."""
    from azure.core.exceptions import HttpResponseError, ServiceRequestError

    status = getattr(error, "status_code", None)
    code = getattr(getattr(error, "error", None), "code", None) or ""
    if code == "MissingSubscriptionRegistration":
        # ARM's 409 for a namespace the subscription has not registered ("Resolve errors for
        # resource provider registration"); its message names the namespace between quotes.
        # A read-only command never registers it (readonly.py): `pulumi up` does.
        found = re.search(r"namespace '([^']+)'", str(error))
        namespace = found.group(1) if found else "<namespace>"
        where = f" --subscription {subscription}" if subscription else ""
        return (
            f"cannot read {what}: the subscription is not registered with {namespace}; "
            f"`az provider register --namespace {namespace}{where}` (or `pulumi up`) registers it"
        )
    if status == 404:
        return (
            f"{what} not found (was it deleted?): run `python -m classroom status` for this student"
        )
    if status in (401, 403):
        return f"cannot read {what} ({status} {code}): {hint_403}".replace(" )", ")")
    if isinstance(error, ServiceRequestError):
        return f"cannot reach {what}: {str(error).splitlines()[0][:160]}"
    if isinstance(error, HttpResponseError):
        return f"cannot read {what} ({status} {code})".replace(" )", ")")
    return f"cannot read {what} ({type(error).__name__}: {str(error).splitlines()[0][:160] if str(error) else ''})"


# ----------------------------------------------------------------------------- the lake


def read_lake(
    env: Environment, credential: Any, blob_endpoint: str, client_kwargs: Mapping[str, Any]
) -> Evidence:
    """The table's files (step "prepared") and the model rows (step "model-rows") in the lake."""
    from azure.core.exceptions import ResourceNotFoundError

    from .readonly import ContainerClient

    what = f"the data lake {env.data_lake}"
    hint = "give the instructor Storage Blob Data Reader on it"
    evidence = Evidence()
    try:
        with ContainerClient(
            account_url=blob_endpoint.format(account=env.data_lake),
            container_name=steps.LAKE_CONTAINER,
            credential=credential,
            **client_kwargs,
        ) as container:
            files = [
                blob
                for blob in container.list_blobs(
                    name_starts_with=steps.table_prefix(env.synapse_workspace), include=["metadata"]
                )
                # ADLS Gen2 shows its directories to the Blob API as empty blobs marked hdi_isfolder.
                if (blob.metadata or {}).get("hdi_isfolder") != "true"
                and blob.name.rsplit("/", 1)[-1].startswith("part-")
            ]
            if files:
                last = max(
                    _aware(b.last_modified) or dt.datetime.min.replace(tzinfo=dt.UTC) for b in files
                )
                evidence.states["prepared"] = StepState(DONE, last, f"{len(files)} file(s)")
            else:
                evidence.states["prepared"] = StepState(NOT_YET)
            try:
                props = container.get_blob_client(steps.model_rows_path()).get_blob_properties()
                evidence.states["model-rows"] = StepState(
                    DONE, _aware(props.last_modified), f"{props.size:,} bytes"
                )
            except ResourceNotFoundError:
                evidence.states["model-rows"] = StepState(NOT_YET)
    except Exception as error:  # one student's lake, never the class
        code = getattr(getattr(error, "error_code", None), "value", None) or getattr(
            error, "error_code", ""
        )
        if code == "ContainerNotFound":
            evidence.problem = f"{what} has no container '{steps.LAKE_CONTAINER}': run `python -m classroom status`"
        else:
            evidence.problem = describe_error(error, what, hint)
    return evidence


# ----------------------------------------------------------------------------- Azure ML


def read_ml(env: Environment, credential: Any, client_kwargs: Mapping[str, Any]) -> Evidence:
    """The experiment's latest job (steps "submitted", "trained") and the model's versions."""
    from azure.core.exceptions import HttpResponseError

    from .readonly import MLClient

    what = f"the Azure ML workspace {env.aml_workspace}"
    hint = "give the instructor Reader on the student's resource group (or AzureML Data Scientist)"
    evidence = Evidence()
    try:
        client = MLClient(
            credential, env.subscription, env.resource_group, env.aml_workspace, **client_kwargs
        )
        jobs = [j for j in client.jobs.list() if j.experiment_name == steps.experiment_name()]
    except Exception as error:
        evidence.problem = describe_error(error, what, hint, env.subscription)
        return evidence
    # The AutoML parent job (type "automl"), not one of its trials, should they be listed too.
    jobs = [j for j in jobs if str(getattr(j, "type", "")).lower() == "automl"] or jobs
    if jobs:
        latest = max(jobs, key=lambda j: _created(j) or dt.datetime.min.replace(tzinfo=dt.UTC))
        status = str(getattr(latest.status, "value", latest.status) or "")
        evidence.states["submitted"] = StepState(DONE, _created(latest), f"job {latest.name}")
        finished = _aware(getattr(latest.creation_context, "last_modified_at", None))
        if status in steps.JOB_DONE:
            evidence.states["trained"] = StepState(DONE, finished, status)
        elif status in steps.JOB_FAILED:
            evidence.states["trained"] = StepState(FAILED, finished, f"job {latest.name} {status}")
        else:
            evidence.states["trained"] = StepState(RUNNING, _created(latest), status or "submitted")
    else:
        evidence.states["submitted"] = StepState(NOT_YET)
        evidence.states["trained"] = StepState(NOT_YET)
    try:
        versions = list(client.models.list(name=steps.model_name()))
    except HttpResponseError as error:
        if error.status_code == 404:  # the model's name was never registered
            versions = []
        else:
            evidence.problem = describe_error(error, what, hint, env.subscription)
            return evidence
    except Exception as error:
        evidence.problem = describe_error(error, what, hint, env.subscription)
        return evidence
    if versions:
        latest_model = max(
            versions, key=lambda m: int(str(m.version)) if str(m.version).isdigit() else 0
        )
        flavors = getattr(latest_model, "flavors", None) or {}
        when = _created(latest_model)
        if flavors and "onnx" not in flavors:
            evidence.states["registered"] = StepState(
                FAILED,
                when,
                f"version {latest_model.version} has no ONNX flavor: PREDICT needs ONNX",
            )
        else:
            evidence.states["registered"] = StepState(DONE, when, f"version {latest_model.version}")
    else:
        evidence.states["registered"] = StepState(NOT_YET)
    return evidence


def _created(entity: Any) -> dt.datetime | None:
    return _aware(getattr(getattr(entity, "creation_context", None), "created_at", None))


# ----------------------------------------------------------------------------- Log Analytics


@dataclass
class LogsAnswer:
    """Per Log Analytics workspace id: its evidence (or the problem reading it)."""

    evidence: dict[str, Evidence]
    queried_at: dt.datetime
    queries: int = 0


def read_logs(
    workspace_ids: Sequence[str],
    credential: Any,
    endpoint: str,
    client_kwargs: Mapping[str, Any],
    run: Callable[[Callable[[Any], Any], Iterable[Any]], list[Any]],
    now: dt.datetime,
    batch: int = LOGS_BATCH,
) -> LogsAnswer:
    """One query per batch of workspaces; a batch that fails, or answers in part, is asked again
    one workspace at a time, so each failure lands on its own student."""
    from azure.monitor.query import LogsQueryStatus

    from .readonly import LogsQueryClient

    ids = list(dict.fromkeys(w for w in workspace_ids if w))
    client = LogsQueryClient(credential, endpoint=endpoint, audience=LOGS_AUDIENCE, **client_kwargs)
    query = progress_query()
    counter = {"queries": 0}

    def ask(group: Sequence[str]) -> tuple[Sequence[str], Any]:
        counter["queries"] += 1
        try:
            result = client.query_workspace(
                group[0],
                query,
                timespan=LOGS_LOOKBACK,
                additional_workspaces=list(group[1:]) or None,
            )
        except Exception as error:
            return group, error
        return group, result

    answers: dict[str, Evidence] = {}
    retry: list[str] = []
    groups = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    for group, result in run(ask, groups):
        if isinstance(result, Exception) or result.status != LogsQueryStatus.SUCCESS:
            if len(group) == 1:
                answers[group[0]] = Evidence(problem=_logs_problem(group[0], result))
            else:
                retry += group
            continue
        answers.update(_evidence_from_rows(group, result.tables, now))
    for group, result in run(ask, [[w] for w in retry]):
        if isinstance(result, Exception) or result.status != LogsQueryStatus.SUCCESS:
            answers[group[0]] = Evidence(problem=_logs_problem(group[0], result))
        else:
            answers.update(_evidence_from_rows(group, result.tables, now))
    client.close()
    return LogsAnswer(answers, now, counter["queries"])


def _logs_problem(workspace_id: str, result: Any) -> str:
    what = f"the Log Analytics workspace {workspace_id}"
    if isinstance(result, Exception):
        return describe_error(result, what, "give the instructor Log Analytics Reader on it")
    error = getattr(result, "partial_error", None)
    return f"cannot read {what} ({getattr(error, 'code', 'PartialError')})"


def _evidence_from_rows(group: Sequence[str], tables: Any, now: dt.datetime) -> dict[str, Evidence]:
    found: dict[str, Evidence] = {w: Evidence() for w in group}
    for table in tables or []:
        columns = list(table.columns)
        for row in table.rows:
            values = dict(zip(columns, list(row), strict=False))
            tenant = str(values.get("TenantId") or "")
            if tenant not in found:
                continue
            step_id = str(values.get("Evidence") or "")
            status = str(values.get("Status") or "")
            at = _aware(values.get("At"))
            state = _LOG_STATES.get(status, UNKNOWN)
            if step_id == "paused" and at is not None and now - at > PAUSE_WINDOW:
                state, status = NOT_YET, f"last run {status} on {at:%Y-%m-%d}, none since"
            if step_id in ("predicted", "paused"):
                found[tenant].states[step_id] = StepState(state, at, status)
    for evidence in found.values():
        evidence.states.setdefault("predicted", StepState(NOT_YET))
        evidence.states.setdefault("paused", StepState(NOT_YET, None, "no run in the last day"))
    return found


def client_kwargs(retries: int, backoff: float, timeout: float) -> dict[str, Any]:
    return azure_core_kwargs(retries, backoff, timeout)
