"""Where a student's progress is recorded in Azure: resource log categories and their tables.

Pure data, no resources. ``components/diagnostics.py`` declares one diagnostic setting
per Synapse resource with these categories; the progress check reads the tables.

Sources (looked up 2026-12-08; nothing here was tried on a live tenant):
- categories per resource type: Azure Monitor "Supported logs" pages, MicrosoftDocs/
  azure-reference-other ``azure-monitor-ref/supported-logs/includes/
  microsoft-synapse-workspaces-logs-include.md``, ``...-bigdatapools-logs-include.md``,
  ``...-sqlpools-logs-include.md``;
- the table each category lands in with ``logAnalyticsDestinationType: Dedicated``
  (resource-specific mode): MicrosoftDocs/azure-docs ``articles/synapse-analytics/
  monitor-synapse-analytics-reference.md`` ("Synapse Workspaces" table list) and the
  bigDataPools include above (its "Log table" column);
- the columns: ``azure-monitor-ref/tables/synapse*.md`` in azure-reference-other.
"""

from __future__ import annotations

from dataclasses import dataclass

# The name of the lab's setting on each resource (a resource may have up to five
# settings: Azure Monitor docs, platform/diagnostic-settings.md "Destinations").
SETTING_NAME = "lab-progress"
# Resource-specific tables (one per category) instead of the shared AzureDiagnostics
# table: azure-native's DiagnosticSetting ``log_analytics_destination_type``.
DESTINATION_TYPE = "Dedicated"

# --- Microsoft.Synapse/workspaces (microsoft-synapse-workspaces-logs-include.md) ------
PIPELINE_RUNS = "IntegrationPipelineRuns"
ACTIVITY_RUNS = "IntegrationActivityRuns"
TRIGGER_RUNS = "IntegrationTriggerRuns"
# The serverless ("built-in") SQL pool's requests. Emitted only for queries that read
# data from storage, not for metadata-only queries (monitor-synapse-analytics-reference.md).
BUILTIN_SQL_REQUESTS = "BuiltinSqlReqsEnded"
# --- Microsoft.Synapse/workspaces/bigDataPools (...-bigdatapools-logs-include.md) ----
SPARK_APPS_ENDED = "BigDataPoolAppsEnded"
# --- Microsoft.Synapse/workspaces/sqlPools (...-sqlpools-logs-include.md) ------------
# sys.dm_pdw_exec_requests: one row per request, its Command cut at 4,000 bytes.
SQL_POOL_EXEC_REQUESTS = "ExecRequests"

# Tables (monitor-synapse-analytics-reference.md, "Synapse Workspaces" list; the
# bigDataPools include names SynapseBigDataPoolApplicationsEnded for BigDataPoolAppsEnded).
PIPELINE_RUNS_TABLE = "SynapseIntegrationPipelineRuns"
ACTIVITY_RUNS_TABLE = "SynapseIntegrationActivityRuns"
TRIGGER_RUNS_TABLE = "SynapseIntegrationTriggerRuns"
BUILTIN_SQL_REQUESTS_TABLE = "SynapseBuiltinSqlPoolRequestsEnded"
SPARK_APPS_ENDED_TABLE = "SynapseBigDataPoolApplicationsEnded"
SQL_POOL_EXEC_REQUESTS_TABLE = "SynapseSqlPoolExecRequests"

# category -> the Log Analytics table it lands in (Dedicated destination type).
TABLES: dict[str, str] = {
    PIPELINE_RUNS: PIPELINE_RUNS_TABLE,
    ACTIVITY_RUNS: ACTIVITY_RUNS_TABLE,
    TRIGGER_RUNS: TRIGGER_RUNS_TABLE,
    BUILTIN_SQL_REQUESTS: BUILTIN_SQL_REQUESTS_TABLE,
    SPARK_APPS_ENDED: SPARK_APPS_ENDED_TABLE,
    SQL_POOL_EXEC_REQUESTS: SQL_POOL_EXEC_REQUESTS_TABLE,
}


@dataclass(frozen=True)
class Source:
    """One resource whose logs the lab collects: its ARM type and the categories it sends."""

    key: str  # names the setting's Pulumi resource: <environment>-diag-<key>
    arm_type: str
    categories: tuple[str, ...]


WORKSPACE = Source(
    "workspace",
    "Microsoft.Synapse/workspaces",
    (PIPELINE_RUNS, ACTIVITY_RUNS, TRIGGER_RUNS, BUILTIN_SQL_REQUESTS),
)
SPARK_POOL = Source("spark", "Microsoft.Synapse/workspaces/bigDataPools", (SPARK_APPS_ENDED,))
# Only when the stack has a dedicated SQL pool (lab:dedicatedSqlPool).
SQL_POOL = Source("sql", "Microsoft.Synapse/workspaces/sqlPools", (SQL_POOL_EXEC_REQUESTS,))


def sources(dedicated_sql_pool: bool) -> tuple[Source, ...]:
    """The resources a student's lab collects logs from, in declaration order."""
    return (WORKSPACE, SPARK_POOL, SQL_POOL) if dedicated_sql_pool else (WORKSPACE, SPARK_POOL)
