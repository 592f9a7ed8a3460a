"""A fake of what `python -m classroom progress` reads, on 127.0.0.1 over HTTPS.

It extends :class:`tests.fakes.synapse.FakeSynapse` (TLS, request log, fault injection with
``fake.fail(method, path_regex, status=.., delay=..)``) with two services; the lake is not
faked: the tests list it in Azurite, Microsoft's Storage emulator (tests/fakes/azurite.py).

**The Log Analytics query API** (``POST /v1/workspaces/{workspaceId}/query``), as documented:
- the request body is ``{"query", "timespan", "workspaces"}`` (REST "Query - Execute";
  azure-monitor-query ``_patch.py`` ``query_workspace`` builds exactly that body);
- one query spans the path's workspace and at most 99 more (100 in all:
  azure-monitor-docs ``logs/cross-workspace-query.md``, "up to 100 workspaces");
- the answer is ``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows"}]}``
  and a query some of whose workspaces could not be read is still 200, with
  ``error.code == "PartialError"`` beside the rows of the others
  (azure-monitor-docs ``logs/api/response-format.md``, "Partial success");
- a workspace that does not exist is 404, one the caller may not read is 403
  (REST "Query - Execute", errorResponse; ``fake.deleted`` and ``fake.forbidden``);
- every row carries ``TenantId``, which in a Log Analytics table is the id of the workspace
  that holds it (the REST reference's cross-workspace example summarises ``by Type, TenantId``).
  KQL is not evaluated: the fake answers the progress query only (it checks the query names the
  tables, the procedure and the pipeline it filters on) from the raw log rows tests add with
  :meth:`FakeProgressAzure.add_sql_request` and :meth:`add_pipeline_run`, with the same
  semantics (latest state per run, latest run per workspace).

**Azure ML, the calls the installed azure-ai-ml makes** (``MLClient`` pointed here with the
``AZUREML_DEV_URL_MFE`` environment variable, which ``_get_base_url_from_metadata`` reads through
``azure/ai/ml/_utils/utils.py`` ``_get_mfe_url_override``):
- ``jobs.list()``: ``GET .../workspaces/{ws}/jobs?api-version=2024-01-01-preview&listViewType=ActiveOnly``
  (``operations/_job_operations.py`` ``list`` on ``service_client_01_2024_preview_arm``, whose
  api-version ``_ml_client.py`` pins with ``partial(MachineLearningServicesMgmtClient,
  api_version="2024-01-01-preview")``), answered ``{"value": [JobBase...], "nextLink"}``;
- ``models.list(name=n)``: ``GET .../workspaces/{ws}/models/{n}/versions?api-version=2023-08-01-preview
  &listViewType=ActiveOnly`` (``operations/_model_operations.py`` ``_model_versions_operation.list``
  on the client ``_ml_client.py`` builds with ``ServiceClient082023Preview``), 404 for a name
  never registered;
- 404 for a workspace that does not exist, 403 where the caller may not read;
- 409 ``MissingSubscriptionRegistration`` for every ARM path under a namespace the subscription
  has not registered, ``POST .../providers/<ns>/register`` and ``GET .../providers/<ns>``, as the
  fake ARM answers them (``fake.registrations``, :class:`tests.fakes.arm.Registrations`, whose
  409 is ARM's documented answer: :func:`tests.fakes.arm.missing_registration`).

Every route checks its token's audience and, with ``latency=(lo, hi)``, answers after a random
delay in that range (the benchmark's realistic service).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from azure.core.credentials import AccessToken

from lab import steps
from tests.fakes.arm import Registrations
from tests.fakes.synapse import ARM_TOKEN, FakeCredential, FakeSynapse

LOGS_TOKEN = "fake-token-for-api.loganalytics.io"
LOGS_MAX_WORKSPACES = 100
JOBS_API_VERSION = "2024-01-01-preview"
MODEL_API_VERSION = "2023-08-01-preview"
ML_PROVIDER = "Microsoft.MachineLearningServices"

_ML_PATH = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)/providers/"
    r"Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/]+)/(?P<rest>.+)",
    re.I,
)


class ProgressCredential(FakeCredential):
    """The fake credential, with tokens for Log Analytics and Storage too."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        scope = scopes[0] if scopes else ""
        if scope.startswith("https://api.loganalytics.io"):
            with self._lock:
                self.scopes.append(scopes)
            return AccessToken(LOGS_TOKEN, int(time.time()) + 3600)
        if scope.startswith("https://storage.azure.com"):
            from tests.fakes.azurite import storage_jwt

            with self._lock:
                self.scopes.append(scopes)
            return AccessToken(*storage_jwt())
        return super().get_token(*scopes, **kwargs)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class MlWorkspace:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    models: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class FakeProgressAzure(FakeSynapse):
    """Log Analytics and Azure ML for a class; see the module docstring for the rules."""

    def __init__(self, tls_files: tuple[str, str, str], latency: tuple[float, float] = (0, 0)):
        super().__init__(tls_files)
        self.latency = latency
        # Log Analytics: workspace GUID -> raw rows of each table.
        self.log_workspaces: dict[str, dict[str, list[dict[str, Any]]]] = {}
        self.deleted: set[str] = set()  # workspace GUIDs (Log Analytics) or ML workspace names
        self.forbidden: set[str] = set()
        self.ml: dict[str, MlWorkspace] = {}  # lower-case ML workspace name -> its jobs and models
        self.jobs_page_size = 2
        # Namespaces a subscription has not registered (tests.fakes.arm.Registrations).
        self.registrations = Registrations()

    # -- test controls
    def add_log_workspace(self, workspace_id: str) -> None:
        self.log_workspaces.setdefault(
            workspace_id, {steps.SQL_REQUESTS_TABLE: [], steps.PIPELINE_RUNS_TABLE: []}
        )

    def add_sql_request(
        self, workspace_id: str, command: str, status: str, at: dt.datetime, label: str = ""
    ) -> None:
        """A row of SynapseSqlPoolExecRequests (its documented columns that matter here)."""
        self.add_log_workspace(workspace_id)
        self.log_workspaces[workspace_id][steps.SQL_REQUESTS_TABLE].append(
            {
                "TenantId": workspace_id,
                "TimeGenerated": at,
                "RequestId": f"QID{random.randint(1000, 99999)}",
                "Command": command,
                "Label": label,
                "Status": status,
            }
        )

    def add_pipeline_run(
        self, workspace_id: str, pipeline: str, run_id: str, status: str, at: dt.datetime
    ) -> None:
        """A row of SynapseIntegrationPipelineRuns: one per state change of a run."""
        self.add_log_workspace(workspace_id)
        self.log_workspaces[workspace_id][steps.PIPELINE_RUNS_TABLE].append(
            {
                "TenantId": workspace_id,
                "TimeGenerated": at,
                "PipelineName": pipeline,
                "RunId": run_id,
                "Status": status,
            }
        )

    def add_ml_workspace(self, name: str) -> MlWorkspace:
        return self.ml.setdefault(name.lower(), MlWorkspace())

    def add_job(
        self,
        workspace: str,
        experiment: str,
        status: str,
        created: dt.datetime,
        name: str = "",
        job_type: str = "AutoML",
    ) -> None:
        """An AutoML job as the jobs REST API returns it (JobBase with AutoMLJob properties)."""
        name = name or f"job-{uuid.uuid4().hex[:10]}"
        self.add_ml_workspace(workspace).jobs.append(
            {
                "id": f"/subscriptions/s/resourceGroups/r/providers/{ML_PROVIDER}/workspaces/{workspace}/jobs/{name}",
                "name": name,
                "type": "Microsoft.MachineLearningServices/workspaces/jobs",
                "systemData": {
                    "createdAt": iso(created),
                    "createdBy": "student",
                    "lastModifiedAt": iso(created + dt.timedelta(minutes=16)),
                },
                "properties": {
                    "jobType": job_type,
                    "experimentName": experiment,
                    "status": status,
                    **(
                        {"command": "python train.py", "environmentId": "azureml:x:1"}
                        if job_type == "Command"
                        else {}
                    ),
                    "taskDetails": {
                        "taskType": "Regression",
                        "targetColumnName": "rentals",
                        "trainingData": {
                            "jobInputType": "mltable",
                            "uri": "azureml://x/ml/bike_data",
                        },
                    },
                    "properties": {},
                    "tags": {},
                },
            }
        )

    def add_model(
        self, workspace: str, name: str, version: int, created: dt.datetime, flavors: Any = None
    ) -> None:
        flavors = {"onnx": {}, "python_function": {}} if flavors is None else flavors
        self.add_ml_workspace(workspace).models.setdefault(name, []).append(
            {
                "id": f"/subscriptions/s/resourceGroups/r/providers/{ML_PROVIDER}/workspaces/{workspace}/models/{name}/versions/{version}",
                "name": str(version),
                "type": "Microsoft.MachineLearningServices/workspaces/models/versions",
                "systemData": {"createdAt": iso(created), "lastModifiedAt": iso(created)},
                "properties": {
                    "modelType": "mlflow_model",
                    "modelUri": f"azureml://jobs/x/outputs/artifacts/{name}",
                    "flavors": {k: {"data": v} for k, v in flavors.items()},
                    "properties": {},
                    "tags": {},
                },
            }
        )

    # -- routes
    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if self.latency[1]:
            time.sleep(random.uniform(*self.latency))
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        m = re.fullmatch(r"/v1/workspaces/([^/]+)/query", path)
        if m:
            if token != LOGS_TOKEN:
                return _error(401, "InvalidAuthenticationTokenAudience", f"token {token!r}")
            if method != "POST":  # the GET form exists; the program only POSTs (stricter)
                return _error(405, "MethodNotAllowed", method)
            return self._logs_query(m.group(1), body)
        if path.startswith("/subscriptions/") and token == ARM_TOKEN:
            answered = self.registrations.answer(method, path)
            if answered:
                return answered
        m = _ML_PATH.fullmatch(path)
        if m:
            if token != ARM_TOKEN:
                return _error(401, "InvalidAuthenticationToken", f"token {token!r}")
            if method != "GET":
                return _error(405, "MethodNotAllowed", method)
            return self._ml(m.group("ws"), m.group("rest"), query)
        return _error(404, "NotFound", f"no route for {method} {path}")

    # -- Log Analytics
    def _logs_query(self, workspace_id: str, body: Any) -> tuple[int, Any, dict[str, str]]:
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _error(400, "BadArgumentError", "the body must be JSON with a query")
        if set(body) - {"query", "timespan", "workspaces"}:
            return _error(400, "BadArgumentError", f"unknown members {sorted(body)}")
        others = body.get("workspaces") or []
        ids = [workspace_id, *others]
        if len(ids) > LOGS_MAX_WORKSPACES:
            return _error(
                400, "BadArgumentError", f"a query spans at most {LOGS_MAX_WORKSPACES} workspaces"
            )
        if workspace_id in self.deleted or workspace_id not in self.log_workspaces:
            return _error(404, "WorkspaceNotFoundError", f"workspace {workspace_id} not found")
        if workspace_id in self.forbidden:
            return _error(403, "InsufficientAccessError", "the caller may not read the workspace")
        problem = _progress_query_problem(body["query"])
        if problem:
            return _error(400, "SemanticError", problem)
        rows: list[list[Any]] = []
        failed: list[str] = []
        for wid in dict.fromkeys(ids):
            if wid in self.deleted or wid not in self.log_workspaces or wid in self.forbidden:
                failed.append(wid)
                continue
            rows += self._progress_rows(wid)
        answer: dict[str, Any] = {
            "tables": [
                {
                    "name": "PrimaryResult",
                    "columns": [
                        {"name": "TenantId", "type": "string"},
                        {"name": "Evidence", "type": "string"},
                        {"name": "At", "type": "datetime"},
                        {"name": "Status", "type": "string"},
                    ],
                    "rows": rows,
                }
            ]
        }
        if failed:
            answer["error"] = {
                "code": "PartialError",
                "message": "There were some errors when processing your query.",
                "details": [
                    {
                        "code": "WorkspaceNotFoundError",
                        "message": f"workspace {w} could not be read",
                    }
                    for w in failed
                ],
            }
        return 200, answer, {}

    def _progress_rows(self, wid: str) -> list[list[Any]]:
        tables = self.log_workspaces[wid]
        pattern = re.compile(rf"(?i)\bEXEC(UTE)?\s+{re.escape(steps.PREDICT_PROCEDURE)}\b")
        rows = []
        predicts = [r for r in tables[steps.SQL_REQUESTS_TABLE] if pattern.search(r["Command"])]
        if predicts:
            last = max(predicts, key=lambda r: r["TimeGenerated"])
            rows.append([wid, "predicted", iso(last["TimeGenerated"]), last["Status"]])
        runs: dict[str, dict[str, Any]] = {}
        for r in tables[steps.PIPELINE_RUNS_TABLE]:
            if r["PipelineName"] != steps.PAUSE_PIPELINE:
                continue
            if r["RunId"] not in runs or r["TimeGenerated"] > runs[r["RunId"]]["TimeGenerated"]:
                runs[r["RunId"]] = r
        if runs:
            last = max(runs.values(), key=lambda r: r["TimeGenerated"])
            rows.append([wid, "paused", iso(last["TimeGenerated"]), last["Status"]])
        return rows

    # -- Azure ML
    def _ml(self, ws: str, rest: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        if ws.lower() in self.deleted or ws.lower() not in self.ml:
            return _error(404, "ResourceNotFound", f"workspace {ws} not found")
        if ws.lower() in self.forbidden:
            return _error(
                403, "AuthorizationFailed", f"the client may not perform 'read' on workspace {ws}"
            )
        workspace = self.ml[ws.lower()]
        if rest == "jobs":
            if query.get("api-version") != JOBS_API_VERSION:
                return _error(400, "InvalidApiVersion", str(query.get("api-version")))
            start = int(query.get("$skipToken") or 0)
            page = workspace.jobs[start : start + self.jobs_page_size]
            answer: dict[str, Any] = {"value": page}
            if start + self.jobs_page_size < len(workspace.jobs):
                answer["nextLink"] = (
                    f"{self.url}/subscriptions/s/resourceGroups/r/providers/{ML_PROVIDER}/workspaces/"
                    f"{ws}/jobs?api-version={JOBS_API_VERSION}&$skipToken={start + self.jobs_page_size}"
                )
            return 200, answer, {}
        m = re.fullmatch(r"models/([^/]+)/versions", rest)
        if m:
            if query.get("api-version") != MODEL_API_VERSION:
                return _error(400, "InvalidApiVersion", str(query.get("api-version")))
            versions = workspace.models.get(m.group(1))
            if versions is None:  # a model name never registered
                return _error(404, "UserError", f"model container {m.group(1)} not found")
            return 200, {"value": versions}, {}
        return _error(404, "NotFound", f"no Azure ML route for {rest}")


def _progress_query_problem(query: str) -> str | None:
    """What the fake needs the query to say to answer it (it does not evaluate KQL)."""
    needed = (
        steps.SQL_REQUESTS_TABLE,
        steps.PIPELINE_RUNS_TABLE,
        steps.PREDICT_PROCEDURE.replace(".", r"\."),
        f'PipelineName == "{steps.PAUSE_PIPELINE}"',
        "TenantId",
    )
    missing = [n for n in needed if n not in query]
    return f"the fake answers the progress query only; missing {missing}" if missing else None


def _error(status: int, code: str, message: str) -> tuple[int, Any, dict[str, str]]:
    return status, {"error": {"code": code, "message": message}}, {}
