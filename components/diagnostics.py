"""The student's lab progress as Azure records it: Synapse resource logs into their Log Analytics.

One diagnostic setting per Synapse resource (workspace, Spark pool, dedicated SQL pool)
sends the categories of ``lab.diagnostics`` to the Log Analytics workspace the student's
Azure ML workspace already has (Application Insights stores its data there), each
category in its own table (``Dedicated``).

Why the student's own workspace and not one per class:
- it already exists and is destroyed with the student (with its force-delete purge),
  so teardown of one student leaves nothing in a shared place and needs nothing new;
- a student who can read their resource group reads their own logs, nobody else's;
  a class workspace would hold every student's pipeline runs and SQL text in one place;
- the instructor still reads the whole class in one call: one Log Analytics query may
  span up to 100 workspaces and counts as one call for throttling (Azure Monitor docs,
  logs/cross-workspace-queries.md), so a class of 200 is two calls, not 200;
- a class workspace would outlive every student and need its own lifecycle, region
  and access: another thing to create before and delete after the class.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from lab import diagnostics


@dataclass
class LabDiagnosticsArgs:
    # The student's Log Analytics workspace (MachineLearningWorkspace.log_analytics_workspace_id).
    log_analytics_workspace_id: pulumi.Input[str]
    synapse_workspace_id: pulumi.Input[str]
    spark_pool_id: pulumi.Input[str]
    # None when the stack has no dedicated SQL pool (lab:dedicatedSqlPool: false).
    sql_pool_id: pulumi.Input[str] | None = None


class LabDiagnostics(pulumi.ComponentResource):
    """Diagnostic settings ``lab-progress`` on the Synapse workspace, Spark pool and SQL pool."""

    def __init__(
        self, name: str, args: LabDiagnosticsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("synapse-ml-lab:monitor:LabDiagnostics", name, None, opts)
        scopes: list[tuple[diagnostics.Source, pulumi.Input[str]]] = [
            (diagnostics.WORKSPACE, args.synapse_workspace_id),
            (diagnostics.SPARK_POOL, args.spark_pool_id),
        ]
        if args.sql_pool_id is not None:
            scopes.append((diagnostics.SQL_POOL, args.sql_pool_id))
        # The setting is an extension resource of the resource it reads (its id is
        # <resource>/providers/Microsoft.Insights/diagnosticSettings/<name>): it depends
        # on that resource's id, so on destroy the engine deletes the setting first.
        # Azure asks for exactly that: a setting left behind is applied again to a new
        # resource of the same id (platform/diagnostic-settings.md, the warning at the top).
        self.settings: dict[str, azure_native.monitor.DiagnosticSetting] = {
            source.key: self._setting(name, source, scope, args) for source, scope in scopes
        }
        self.setting_ids: dict[str, pulumi.Output[str]] = {
            key: setting.id for key, setting in self.settings.items()
        }
        self.register_outputs({"settingIds": self.setting_ids})

    def _setting(
        self,
        name: str,
        source: diagnostics.Source,
        scope: pulumi.Input[str],
        args: LabDiagnosticsArgs,
    ) -> azure_native.monitor.DiagnosticSetting:
        return azure_native.monitor.DiagnosticSetting(
            f"{name}-{source.key}",
            name=diagnostics.SETTING_NAME,
            resource_uri=scope,
            workspace_id=args.log_analytics_workspace_id,
            log_analytics_destination_type=diagnostics.DESTINATION_TYPE,
            # Named categories, not the allLogs group: the Spark pool's allLogs would add
            # its driver and executor logs and events, billed per GB and not needed here
            # (a setting takes a group or categories, not both: diagnostic-settings.md).
            logs=[
                azure_native.monitor.DiagnosticsLogSettingsArgs(category=category, enabled=True)
                for category in source.categories
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
