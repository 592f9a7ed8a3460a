"""A fake Azure for `python -m classroom status`: ARM, the Synapse data plane and ADLS Gen2, on 127.0.0.1.

It extends :class:`tests.fakes.synapse.FakeSynapse` (TLS, request log, fault injection:
``fake.fail(method, path_regex, status=.., delay=.., drop=..)``) with the read calls the
readiness check makes, for many students at once:

- ARM (``/subscriptions/...``): resource groups, and any resource read by id
  (``resources.get_by_id``: Synapse workspaces, Spark and SQL pools, Azure ML
  workspaces and computes, the data lake's storage account) with the api-version of
  its namespace; Entra ID groups (``add_member``, nested groups too); role assignments
  listed at a scope with the ``$filter`` forms of the REST docs and their semantics:
  ``atScope()``, ``principalId eq '{id}'``, ``assignedTo('{id}')`` (through groups,
  transitively) and ``atScope() and assignedTo('{id}')`` (see :meth:`FakeAzure._role_filter`);
- the Synapse data plane of workspace ``ws`` under ``/synapse/ws`` (linked services,
  notebooks, SQL scripts, the cost guard's pipeline and triggers, ``POST
  /queryPipelineRuns`` (the one POST the check makes: a query, see
  :func:`tests.fakes.synapse.query_pipeline_runs`), and Synapse RBAC role assignments
  listed by role, principal and scope);
- ADLS Gen2 of account ``acct`` under ``/acct`` (IP-style URLs, as the storage SDK
  builds them for an address): ``GET /acct/files?resource=filesystem&directory=data``.

Every route checks the token's audience. :meth:`FakeAzure.add_student` builds a
complete, ready environment from the outputs the program exports; tests then
break it the way Azure breaks.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from typing import Any

from azure.core.credentials import AccessToken

from lab import cost_guard
from lab.config import DEFAULT_PREFIX
from lab.naming import LabNames
from lab.roles import (
    AML_STUDENT,
    READER,
    SQL_POOL_OPERATOR,
    STORAGE_BLOB_DATA_CONTRIBUTOR,
    SYNAPSE_ADMINISTRATOR,
    custom_role_guid,
)
from lab.studio import SQL_SCRIPT_NAMES, lab_notebooks
from tests.fakes.arm import Registrations
from tests.fakes.synapse import (
    ARM_TOKEN,
    DATA_PLANE_API_VERSION,
    SYNAPSE_TOKEN,
    FakeCredential,
    FakeSynapse,
    Operation,
    pipeline_run,
    query_pipeline_runs,
)

STORAGE_TOKEN = "fake-token-for-storage.azure.com"
# What the program uploads to a ready student's Studio (lab/studio.py).
NOTEBOOKS = tuple(lab_notebooks())
SQL_SCRIPTS = SQL_SCRIPT_NAMES
DATA_FILES = {"bike-rentals-training.csv": 48_213, "weather-forecast.csv": 822}
# The api-version each resource provider's reads must use (lab/api_versions.py, written out here:
# the fake pins what it accepts on its own, so a changed constant shows up as a failing test).
ARM_API_VERSIONS = {
    "microsoft.synapse": "2021-06-01",
    "microsoft.machinelearningservices": "2025-06-01",
    "microsoft.storage": "2024-01-01",
}


class AzureCredential(FakeCredential):
    """The fake credential, with a token for Azure Storage too."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = super().get_token(*scopes, **kwargs)
        if scopes and scopes[0].startswith("https://storage.azure.com"):
            return AccessToken(STORAGE_TOKEN, token.expires_on)
        return token


def environment(
    student: str,
    subscription: str = "11111111-1111-1111-1111-111111111111",
    suffix: str | None = None,
    sql_pool: str | None = "",
) -> dict[str, Any]:
    """One student's `environments` output value, as the program exports it: the names
    lab/naming.py makes for the default prefix and a suffix taken from the student's id
    (``sql_pool=None``: a stack without a dedicated SQL pool; "" the program's name)."""
    s = suffix or re.sub(r"[^a-z0-9]", "", student)[:7].ljust(7, "0")
    names = LabNames(DEFAULT_PREFIX, s)
    rg, ws = names.resource_group, names.synapse_workspace
    sql_pool = names.sql_pool if sql_pool == "" else sql_pool
    return {
        "subscription": subscription,
        "resourceGroup": rg,
        "synapseWorkspace": ws,
        "synapseStudioUrl": f"https://web.azuresynapse.net?workspace=%2fsubscriptions%2f{subscription}"
        f"%2fresourceGroups%2f{rg}%2fproviders%2fMicrosoft.Synapse%2fworkspaces%2f{ws}",
        "sparkPool": names.spark_pool,
        "sqlPool": sql_pool,
        "dataLake": names.data_lake,
        "amlWorkspace": names.ml_workspace,
        "amlStudioUrl": f"https://ml.azure.com/?wsid=/subscriptions/{subscription}/resourceGroups/{rg}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/aml{s}",
    }


class FakeAzure(FakeSynapse):
    def __init__(self, tls_files: tuple[str, str, str]):
        super().__init__(tls_files, lro="sync")
        self.arm: dict[str, dict[str, Any]] = {}  # lower-case ARM id -> resource body
        # {scope, roleDefinitionId, principalId, principalType}
        self.arm_roles: list[dict[str, Any]] = []
        self.group_members: dict[str, set[str]] = {}  # Entra ID group -> its direct members
        self.workspaces: dict[
            str, dict[str, dict[str, Any]]
        ] = {}  # workspace -> collection -> name -> body
        self.synapse_roles: list[dict[str, Any]] = []  # {workspace, roleId, principalId}
        self.runs: dict[str, list[dict[str, Any]]] = {}  # workspace -> its pipeline runs
        self.lakes: dict[str, dict[str, int]] = {}  # account -> {"data/<file>": size}
        # Cost Management: lower-case resource group id -> [(day, service, cost)], and the
        # subscriptions whose offer has no cost data (-> "400" or "404", as the service says it).
        self.costs: dict[str, list[tuple[str, str, float]]] = {}
        self.no_cost_data: dict[str, str] = {}
        self.cost_queries: list[dict[str, Any]] = []
        # Rows per page of a cost query: past it the answer carries a nextLink with a
        # $skiptoken (the service pages at 1000 rows and the SDK does not follow it:
        # Azure/azure-rest-api-specs#22528; QueryProperties.nextLink in the REST spec).
        self.cost_page_size = 1000
        # Namespaces a subscription has not registered (tests.fakes.arm.Registrations).
        self.registrations = Registrations()

    # -- building environments
    def add_student(
        self,
        env: dict[str, Any],
        object_id: str | None = None,
        region: str = "westeurope",
        expires_on: str = "2099-12-31",
        stack: str = "dev",
        pause_times: tuple[tuple[int, int], ...] = ((23, 0),),
        time_zone: str | None = None,
    ) -> None:
        sub, rg, ws = env["subscription"], env["resourceGroup"], env["synapseWorkspace"]
        rg_id = f"/subscriptions/{sub}/resourceGroups/{rg}"
        syn = f"{rg_id}/providers/Microsoft.Synapse/workspaces/{ws}"
        ml = f"{rg_id}/providers/Microsoft.MachineLearningServices/workspaces/{env['amlWorkspace']}"
        succeeded = {"provisioningState": "Succeeded"}
        with self.lock:
            self.put(
                rg_id,
                {
                    "location": region,
                    "tags": {"expires-on": expires_on, "course": "lab"},
                    "properties": succeeded,
                },
            )
            self.put(syn, {"location": region, "properties": dict(succeeded)})
            self.put(
                f"{syn}/bigDataPools/{env['sparkPool']}",
                {
                    "location": region,
                    "properties": {
                        **succeeded,
                        "nodeSize": "Small",
                        "nodeSizeFamily": "MemoryOptimized",
                        "sparkVersion": "3.5",
                        "autoScale": {"enabled": True, "minNodeCount": 3, "maxNodeCount": 4},
                    },
                },
            )
            if env.get("sqlPool"):
                self.put(
                    f"{syn}/sqlPools/{env['sqlPool']}",
                    {
                        "location": region,
                        "sku": {"name": "DW100c"},
                        "properties": {**succeeded, "status": "Paused"},
                    },
                )
            self.put(
                ml,
                {
                    "location": region,
                    "properties": {
                        **succeeded,
                        "storageAccount": f"{rg_id}/providers/"
                        f"Microsoft.Storage/storageAccounts/amlst{ws[-7:]}",
                    },
                },
            )
            self.put(
                f"{ml}/computes/automl-cluster",
                {
                    "location": region,
                    "properties": {
                        **succeeded,
                        "computeType": "AmlCompute",
                        "properties": {
                            "vmSize": "Standard_DS3_v2",
                            "currentNodeCount": 0,
                            "targetNodeCount": 0,
                            "scaleSettings": {
                                "minNodeCount": 0,
                                "maxNodeCount": 2,
                                "nodeIdleTimeBeforeScaleDown": "PT5M",
                            },
                        },
                    },
                },
            )
            studio = self.workspaces.setdefault(
                ws, {"linkedservices": {}, "notebooks": {}, "sqlScripts": {}}
            )
            studio["linkedservices"]["AzureML"] = {
                "name": "AzureML",
                "properties": {
                    "type": "AzureMLService",
                    "typeProperties": {
                        "subscriptionId": sub,
                        "resourceGroupName": rg,
                        "mlWorkspaceName": env["amlWorkspace"],
                        "authentication": "MSI",
                    },
                },
            }
            for name in NOTEBOOKS:
                studio["notebooks"][name] = {
                    "name": name,
                    "properties": {
                        "bigDataPool": {
                            "referenceName": env["sparkPool"],
                            "type": "BigDataPoolReference",
                        },
                        "metadata": {},
                        "nbformat": 4,
                        "nbformat_minor": 2,
                        "cells": [],
                    },
                }
            if env.get("sqlPool") and pause_times:
                self.deploy_guard(
                    ws,
                    f"{syn}/sqlPools/{env['sqlPool']}",
                    pause_times,
                    time_zone or cost_guard.default_time_zone(region),
                )
            if env.get("sqlPool"):
                for name in SQL_SCRIPTS:
                    studio["sqlScripts"][name] = {
                        "name": name,
                        "properties": {
                            "type": "SqlQuery",
                            "content": {
                                "query": "SELECT 1",
                                "currentConnection": {
                                    "databaseName": env["sqlPool"],
                                    "poolName": env["sqlPool"],
                                },
                            },
                        },
                    }
            self.put(
                f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{env['dataLake']}",
                {
                    "location": region,
                    "kind": "StorageV2",
                    "sku": {"name": "Standard_LRS"},
                    "properties": {**succeeded, "isHnsEnabled": True},
                },
            )
            self.lakes[env["dataLake"]] = {
                f"data/{name}": size for name, size in DATA_FILES.items()
            }
            if object_id:
                lake = f"{rg_id}/providers/Microsoft.Storage/storageAccounts/{env['dataLake']}"
                # The student's roles as components/access.py grants them.
                self.grant(rg_id, READER, object_id)
                self.grant(ml, custom_role_guid(AML_STUDENT, stack, sub), object_id)
                self.grant(lake, STORAGE_BLOB_DATA_CONTRIBUTOR, object_id)
                if env.get("sqlPool"):
                    operator = custom_role_guid(SQL_POOL_OPERATOR, stack, sub)
                    self.grant(f"{syn}/sqlPools/{env['sqlPool']}", operator, object_id)
                # ... and components/data_plane.py's Synapse role.
                self.synapse_roles.append(
                    {"workspace": ws, "roleId": SYNAPSE_ADMINISTRATOR, "principalId": object_id}
                )

    def deploy_guard(
        self, ws: str, pool_id: str, times: tuple[tuple[int, int], ...], zone: str
    ) -> None:
        """The cost guard as providers/synapse/pause_schedule.py leaves it: the pipeline, its
        triggers Started (``runtimeState`` is read-only, added by the service), and last
        night's run Succeeded."""
        studio = self.workspaces.setdefault(ws, {})
        name = cost_guard.PAUSE_PIPELINE_NAME
        studio.setdefault("pipelines", {})[name] = {
            "name": name,
            "properties": cost_guard.pipeline_body(pool_id),
        }
        for trigger, body in cost_guard.trigger_bodies(times, zone).items():
            studio.setdefault("triggers", {})[trigger] = {
                "name": trigger,
                "properties": {**body, "runtimeState": "Started"},
            }
        yesterday = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=20)
        self.runs[ws] = [pipeline_run(name, "Succeeded", yesterday)]

    def put(self, resource_id: str, body: dict[str, Any]) -> None:
        with self.lock:
            self.arm[resource_id.lower()] = {
                "id": resource_id,
                "name": resource_id.rsplit("/", 1)[-1],
                **body,
            }

    def remove(self, resource_id: str) -> None:
        with self.lock:
            del self.arm[resource_id.lower()]

    def get(self, resource_id: str) -> dict[str, Any]:
        return self.arm[resource_id.lower()]

    def add_cost(self, resource_group_id: str, day: str, service: str, cost: float) -> None:
        with self.lock:
            self.costs.setdefault(resource_group_id.lower(), []).append((day, service, cost))

    def sql_pool_status(self, pool_id: str) -> str:
        return self.get(pool_id)["properties"]["status"]

    def set_sql_pool_status(self, pool_id: str, status: str) -> None:
        with self.lock:
            self.get(pool_id)["properties"]["status"] = status

    def grant(self, scope: str, role: str, principal: str, principal_type: str = "User") -> None:
        with self.lock:
            self.arm_roles.append(
                {
                    "scope": scope,
                    "roleDefinitionId": role,
                    "principalId": principal,
                    "principalType": principal_type,
                }
            )

    def add_member(self, group: str, member: str) -> None:
        """``member`` (a user or another group) joins Entra ID group ``group``."""
        with self.lock:
            self.group_members.setdefault(group, set()).add(member)

    def groups_of(self, principal: str) -> set[str]:
        """Every group ``principal`` is in, directly or through other groups."""
        found: set[str] = set()
        todo = [principal]
        while todo:
            current = todo.pop()
            for group, members in self.group_members.items():
                if current in members and group not in found:
                    found.add(group)
                    todo.append(group)
        return found

    # -- routes
    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        first = path.split("/")[1] if path.count("/") else ""
        if first in ("armOperations", "armOperationResults") and method == "GET":
            return self._poll(first, path.rsplit("/", 1)[-1])
        if path.startswith("/subscriptions/") and token == ARM_TOKEN:
            answered = self.registrations.answer(method, path)
            if answered:
                return answered
        if path.startswith("/subscriptions/") and method == "POST" and token == ARM_TOKEN:
            if re.search(r"/providers/Microsoft\.CostManagement/query$", path, re.I):
                return self._cost_query(path, query, body)
            m = re.fullmatch(r"(.+/sqlPools/[^/]+)/pause", path, re.I)
            if m:
                return self._pause(m.group(1), query)
        m = re.fullmatch(r"/synapse/([^/]+)/queryPipelineRuns", path)
        if m and method == "POST" and token == SYNAPSE_TOKEN:
            if query.get("api-version") != DATA_PLANE_API_VERSION:
                return 400, {"error": {"code": "InvalidApiVersion", "message": str(query)}}, {}
            with self.lock:
                return query_pipeline_runs(list(self.runs.get(m.group(1), [])), body)
        if path.startswith("/subscriptions/"):
            audience, route = ARM_TOKEN, self._arm
        elif first == "synapse":
            audience, route = SYNAPSE_TOKEN, self._synapse
        elif first in self.lakes:
            audience, route = STORAGE_TOKEN, self._lake
        else:
            return (
                404,
                {"error": {"code": "NotFound", "message": f"no route for {method} {path}"}},
                {},
            )
        if token != audience:
            return (
                401,
                {
                    "error": {
                        "code": "InvalidAuthenticationToken",
                        "message": f"expected a token for this audience, got {token!r}",
                    }
                },
                {},
            )
        if method != "GET":
            return (
                405,
                {"error": {"code": "MethodNotAllowed", "message": "the status check only reads"}},
                {},
            )
        if route != self._lake and not query.get("api-version"):
            return 400, {"error": {"code": "MissingApiVersionParameter", "message": path}}, {}
        return route(path, query)

    def _arm(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        m = re.fullmatch(r"(.+)/providers/Microsoft\.Authorization/roleAssignments", path, re.I)
        if m:
            try:
                keep = self._role_filter(m.group(1).lower(), query.get("$filter", ""))
            except ValueError as error:
                return 400, {"error": {"code": "BadRequest", "message": str(error)}}, {}
            with self.lock:
                found = [r for r in self.arm_roles if keep(r)]
            return 200, {"value": [self._assignment(r, query) for r in found]}, {}
        namespace = re.search(r"/providers/([^/]+)/", path + "/", re.I)
        wanted = ARM_API_VERSIONS.get(namespace.group(1).lower()) if namespace else None
        if wanted and query.get("api-version") != wanted:
            # ARM serves each resource type at the versions its provider registers, and the check must
            # read with the version the program writes with (lab/api_versions.py): stricter than ARM,
            # which would also serve older registered versions in an older shape.
            return (
                400,
                {
                    "error": {
                        "code": "NoRegisteredProviderFound",
                        "message": f"api-version {query.get('api-version')!r} for {path}; "
                        f"this fake serves {wanted}",
                    }
                },
                {},
            )
        with self.lock:
            item = self.arm.get(path.lower())
        if item is None:
            kind = (
                "ResourceGroupNotFound"
                if re.fullmatch(r"/subscriptions/[^/]+/resourcegroups/[^/]+", path, re.I)
                else "ResourceNotFound"
            )
            return (
                404,
                {"error": {"code": kind, "message": f"The Resource '{path}' was not found."}},
                {},
            )
        return 200, item, {}

    def _role_filter(self, scope: str, text: str) -> Any:
        """Which assignments a role assignment list at ``scope`` returns for a ``$filter``.

        https://learn.microsoft.com/rest/api/authorization/role-assignments/list-for-scope:
        "Use $filter=atScope() to return all role assignments at or above the scope. Use
        $filter=principalId eq {id} to return all role assignments at, above or below the scope
        for the specified principal." https://learn.microsoft.com/azure/role-based-access-control/
        role-assignments-list-rest: no filter lists assignments at, above and below the scope;
        assignedTo('{objectId}') lists those of a user or service principal and of the groups it
        is in, transitively, and accepts no group's object id. azure-cli
        (src/azure-cli/azure/cli/command_modules/role/custom.py, _search_role_assignments) sends
        "atScope() and assignedTo('{id}')" and notes that atScope() and principalId eq cannot be
        combined (an API limitation): refused here as well.
        """
        terms = [t.strip() for t in re.split(r"\s+and\s+", text.strip()) if t.strip()]
        at_scope, principals = False, None
        for term in terms:
            by_id = re.fullmatch(r"principalId\s+eq\s+'?([0-9a-fA-F-]+)'?", term)
            assigned = re.fullmatch(r"assignedTo\('([0-9a-fA-F-]+)'\)", term)
            if term == "atScope()" and not at_scope:
                at_scope = True
            elif by_id and principals is None:
                principals = {by_id.group(1).lower()}
            elif assigned and principals is None:
                who = assigned.group(1).lower()
                with self.lock:
                    if who in {g.lower() for g in self.group_members}:
                        raise ValueError("assignedTo() accepts a user's or service principal's id")
                    principals = {who} | {g.lower() for g in self.groups_of(who)}
            else:
                raise ValueError(f"unsupported $filter {text!r}")
        if at_scope and any(t.startswith("principalId") for t in terms):
            raise ValueError("atScope() and principalId eq cannot be combined")

        def keep(r: dict[str, Any]) -> bool:
            own = r["scope"].lower()
            above = scope == own or scope.startswith(own + "/")
            below = own.startswith(scope + "/")
            where = above if at_scope else above or below
            return where and (principals is None or r["principalId"].lower() in principals)

        return keep

    def _pause(self, pool_id: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """REST "Sql Pools - Pause" (Microsoft.Synapse, api-version 2021-06-01): 202 and an
        operation to poll; a pool that is not Online cannot be paused (409, as the fake
        Synapse answers too: be strict where the docs say nothing)."""
        # Stable Microsoft.Synapse versions with sqlPools/pause (azure-rest-api-specs
        # specification/synapse/resource-manager/Microsoft.Synapse/stable/): the SDK sends 2021-03-01.
        if query.get("api-version") not in ("2021-03-01", "2021-06-01"):
            return (
                400,
                {"error": {"code": "InvalidApiVersion", "message": query.get("api-version")}},
                {},
            )
        with self.lock:
            pool = self.arm.get(pool_id.lower())
            if pool is None:
                return 404, {"error": {"code": "ResourceNotFound", "message": pool_id}}, {}
            status = pool["properties"].get("status")
            if status != "Online":
                return 409, {"error": {"code": "Conflict", "message": f"pool is {status}"}}, {}
            pool["properties"]["status"] = "Pausing"

            def done() -> None:
                pool["properties"]["status"] = "Paused"

            op_id = uuid.uuid4().hex
            self.operations[op_id] = Operation(self.lro_polls, 200, None, done)
        return (
            202,
            None,
            {
                "Location": f"{self.url}/armOperationResults/{op_id}",
                "Azure-AsyncOperation": f"{self.url}/armOperations/{op_id}",
                "Retry-After": "0",
            },
        )

    def _cost_query(
        self, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """REST "Query - Usage" (learn.microsoft.com/rest/api/cost-management/query/usage) at a
        resource group scope: the body's rules the service checks, rows per day and service."""
        if not query.get("api-version"):
            return 400, {"error": {"code": "MissingApiVersionParameter", "message": path}}, {}
        scope = path[: -len("/providers/Microsoft.CostManagement/query")]
        sub = scope.split("/")[2]
        with self.lock:
            self.cost_queries.append(
                {"scope": scope, "body": body, "skiptoken": query.get("$skiptoken")}
            )
            no_data = self.no_cost_data.get(sub)
            known = scope.lower() in self.arm
        if no_data == "400":
            # Azure/azure-powershell#11642, mivano/azure-cost-cli#24: the offer has no cost data.
            message = (
                "Cost Management supports only Enterprise Agreement, Web direct and Microsoft "
                f"Customer Agreement offer types. Subscription {sub} is not associated with a "
                "valid offer type."
            )
            return 400, {"error": {"code": "400", "message": message}}, {}
        if no_data == "404":
            # microsoft/AzureTRE#2823: the same, answered as a 404.
            message = f"Given subscription {sub} doesn't have valid WebDirect/AIRS offer type."
            return 404, {"error": {"code": "NotFound", "message": message}}, {}
        if not known:
            return 404, {"error": {"code": "ResourceGroupNotFound", "message": scope}}, {}
        if not isinstance(body, dict):
            return 400, {"error": {"code": "BadRequest", "message": "a query body is required"}}, {}
        problem = None
        if body.get("type") not in ("Usage", "ActualCost", "AmortizedCost"):
            problem = "type must be Usage, ActualCost or AmortizedCost"
        elif body.get("timeframe") == "Custom" and not (body.get("timePeriod") or {}).get("from"):
            problem = "a Custom timeframe needs timePeriod.from and timePeriod.to"
        dataset = body.get("dataset") or {}
        if len(dataset.get("grouping") or []) > 2:
            problem = "a query can have up to 2 group by clauses"
        if dataset.get("granularity") not in (None, "Daily"):
            problem = "granularity must be Daily (or absent)"
        if problem:
            return 400, {"error": {"code": "BadRequest", "message": problem}}, {}
        period = body.get("timePeriod") or {}
        start = str(period.get("from", ""))[:10].replace("-", "")
        end = str(period.get("to", "9999"))[:10].replace("-", "")
        with self.lock:
            items = [
                c
                for c in self.costs.get(scope.lower(), [])
                if start <= c[0].replace("-", "") <= end
            ]
        rows: dict[tuple[int, str], float] = {}
        for day, service, cost in items:
            key = (int(day.replace("-", "")), service)
            rows[key] = rows.get(key, 0.0) + cost
        columns = [
            {"name": "Cost", "type": "Number"},
            {"name": "UsageDate", "type": "Number"},
            {"name": "ServiceName", "type": "String"},
            {"name": "Currency", "type": "String"},
        ]
        every = [[cost, day, service, "USD"] for (day, service), cost in sorted(rows.items())]
        token = query.get("$skiptoken")
        if token is not None and not token.isdigit():
            return 400, {"error": {"code": "BadRequest", "message": "invalid $skiptoken"}}, {}
        start = int(token or 0)
        page = every[start : start + self.cost_page_size]
        following = start + self.cost_page_size
        next_link = (
            f"{self.url}{path}?api-version={query['api-version']}&$skiptoken={following}"
            if following < len(every)
            else None
        )
        return (
            200,
            {
                "id": f"{scope}/providers/Microsoft.CostManagement/query/{uuid.uuid4()}",
                "name": str(uuid.uuid4()),
                "type": "Microsoft.CostManagement/query",
                "properties": {"nextLink": next_link, "columns": columns, "rows": page},
            },
            {},
        )

    @staticmethod
    def _assignment(r: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
        sub = r["scope"].split("/")[2]
        return {
            "id": f"{r['scope']}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
            "name": str(uuid.uuid4()),
            "type": "Microsoft.Authorization/roleAssignments",
            "properties": {
                "scope": r["scope"],
                "principalId": r["principalId"],
                "principalType": r.get("principalType", "User"),
                "roleDefinitionId": f"/subscriptions/{sub}/providers/Microsoft.Authorization/"
                f"roleDefinitions/{r['roleDefinitionId']}",
            },
        }

    def _synapse(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        parts = path.split("/")
        ws, rest = parts[2], "/".join(parts[3:])
        if rest == "roleAssignments":
            with self.lock:
                found = [
                    r
                    for r in self.synapse_roles
                    if r["workspace"] == ws
                    and r["roleId"] == query.get("roleId", r["roleId"])
                    and r["principalId"] == query.get("principalId", r["principalId"])
                    and query.get("scope", f"workspaces/{ws}") == f"workspaces/{ws}"
                ]
            return (
                200,
                {
                    "count": len(found),
                    "value": [
                        {
                            "id": str(uuid.uuid4()),
                            "roleDefinitionId": r["roleId"],
                            "principalId": r["principalId"],
                            "scope": f"workspaces/{ws}",
                            "principalType": r.get("principalType", "User"),
                        }
                        for r in found
                    ],
                },
                {},
            )
        m = re.fullmatch(r"(linkedservices|notebooks|sqlScripts|pipelines|triggers)/([^/]+)", rest)
        if (
            m
            and m.group(1) in ("pipelines", "triggers")
            and query.get("api-version") != (DATA_PLANE_API_VERSION)
        ):
            return 400, {"error": {"code": "InvalidApiVersion", "message": str(query)}}, {}
        with self.lock:
            item = self.workspaces.get(ws, {}).get(m.group(1), {}).get(m.group(2)) if m else None
        if item is None:
            return 404, {"error": {"code": "NotFound", "message": f"{rest} not found in {ws}"}}, {}
        return (
            200,
            {
                "id": f"/workspaces/{ws}/{rest}",
                "etag": "1",
                "type": f"Microsoft.Synapse/workspaces/{m.group(1)}",
                **item,
            },
            {},
        )

    def _lake(self, path: str, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        account, filesystem = (path.split("/") + [""])[1:3]
        if filesystem != "files" or query.get("resource") != "filesystem":
            return 404, {"error": {"code": "FilesystemNotFound", "message": path}}, {}
        directory = query.get("directory", "").strip("/")
        with self.lock:
            files = dict(self.lakes[account])
        inside = {k: v for k, v in files.items() if k.startswith(directory + "/")}
        if not inside:
            return (
                404,
                {
                    "error": {
                        "code": "PathNotFound",
                        "message": "The specified path does not exist.",
                    }
                },
                {},
            )
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime())
        return (
            200,
            {
                "paths": [
                    {
                        "name": k,
                        "contentLength": str(v),
                        "lastModified": stamp,
                        "etag": "0x1",
                        "owner": "$superuser",
                        "group": "$superuser",
                        "permissions": "rw-r-----",
                    }
                    for k, v in sorted(inside.items())
                ]
            },
            {"x-ms-version": "2025-01-05"},
        )
