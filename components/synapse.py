"""The student's Synapse workspace, its firewall, Spark pool and dedicated SQL pool.

The workspace accepts Microsoft Entra sign-in only (``azureADOnlyAuthentication``):
no SQL password exists, and its Entra admin is ``lab:instructors`` (one principal,
an Entra group for several instructors) or the deployer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_azure_native as azure_native

from lab import roles

from .roles import assign_role

# The lab's Spark pool: the smallest memory-optimised nodes, 3 to 4 of them, and
# paused after 15 idle minutes so a forgotten session stops costing money.
SPARK_NODE_FAMILY = "MemoryOptimized"
SPARK_NODE_SIZE = "Small"
SPARK_MIN_NODES = 3
SPARK_MAX_NODES = 4
SPARK_AUTO_PAUSE_MINUTES = 15
SQL_POOL_SKU = "DW100c"
SQL_POOL_COLLATION = "SQL_Latin1_General_CP1_CI_AS"
# 0.0.0.0-0.0.0.0 is Azure's convention for "allow Azure services" (Synapse
# pipelines, Azure ML reading back through the workspace).
ALLOW_AZURE_SERVICES = ("AllowAllWindowsAzureIps", "0.0.0.0", "0.0.0.0")
ALLOW_ALL = ("allowAll", "0.0.0.0", "255.255.255.255")


@dataclass
class SynapseWorkspaceArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    managed_resource_group_name: pulumi.Input[str]
    spark_pool_name: pulumi.Input[str]
    sql_pool_name: pulumi.Input[str]
    data_lake_dfs_url: pulumi.Input[str]
    data_lake_filesystem: pulumi.Input[str]
    data_lake_account_id: pulumi.Input[str]
    sql_admin_login: str
    # The workspace's Microsoft Entra admin: an object id and the tenant it lives in.
    entra_admin_object_id: pulumi.Input[str]
    entra_admin_login: str
    tenant_id: pulumi.Input[str]
    spark_version: str
    dedicated_sql_pool: bool
    tags: Mapping[str, pulumi.Input[str]]
    allowed_ip_ranges: Sequence[tuple[str, str]] = ()
    deployer_ip_address: str | None = None


def firewall_rules(
    allowed_ip_ranges: Sequence[tuple[str, str]], deployer_ip_address: str | None
) -> list[tuple[str, str, str]]:
    """(rule name, start, end) for the workspace firewall.

    No ranges configured means the lab's default (every address may connect);
    the program warns about it at preview.
    """
    rules = [ALLOW_AZURE_SERVICES]
    if not allowed_ip_ranges:
        rules.append(ALLOW_ALL)
    else:
        rules += [
            (f"allowed-{i + 1}", start, end) for i, (start, end) in enumerate(allowed_ip_ranges)
        ]
    if deployer_ip_address:
        # The deployment itself calls the workspace's data plane (linked service,
        # notebooks): behind a restricted firewall it needs its own way through.
        rules.append(("deployer", deployer_ip_address, deployer_ip_address))
    return rules


class SynapseWorkspace(pulumi.ComponentResource):
    """Workspace ``synapse<suffix>`` on the data lake, Spark pool ``spark<suffix>``, SQL pool ``sql<suffix>``."""

    def __init__(
        self, name: str, args: SynapseWorkspaceArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("synapse-ml-lab:synapse:SynapseWorkspace", name, None, opts)
        self.workspace = self._workspace(name, args)
        self.entra_admin = self._entra_admin(name, args)
        self.firewall_rules = self._firewall_rules(name, args)
        self.spark_pool = self._spark_pool(name, args)
        self.sql_pool: azure_native.synapse.SqlPool | None = (
            self._sql_pool(name, args) if args.dedicated_sql_pool else None
        )
        self.principal_id: pulumi.Output[str] = self.workspace.identity.apply(
            lambda i: i.principal_id
        )
        self.lake_access = self._lake_access(name, args)

        self.workspace_name: pulumi.Output[str] = self.workspace.name
        self.workspace_id: pulumi.Output[str] = self.workspace.id
        self.spark_pool_name: pulumi.Output[str] = self.spark_pool.name
        self.spark_pool_id: pulumi.Output[str] = self.spark_pool.id
        self.sql_pool_name: pulumi.Output[str] | None = (
            self.sql_pool.name if self.sql_pool else None
        )
        self.sql_pool_id: pulumi.Output[str] | None = self.sql_pool.id if self.sql_pool else None
        self.studio_url: pulumi.Output[str] = self.workspace.id.apply(
            lambda ws_id: f"https://web.azuresynapse.net?workspace={quote(ws_id, safe='')}"
        )
        self.register_outputs(
            {
                "workspaceName": self.workspace_name,
                "workspaceId": self.workspace_id,
                "principalId": self.principal_id,
                "sparkPoolName": self.spark_pool_name,
                "sqlPoolName": self.sql_pool_name,
            }
        )

    def _workspace(self, name: str, args: SynapseWorkspaceArgs) -> azure_native.synapse.Workspace:
        return azure_native.synapse.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            identity=azure_native.synapse.ManagedIdentityArgs(type="SystemAssigned"),
            default_data_lake_storage=azure_native.synapse.DataLakeStorageAccountDetailsArgs(
                account_url=args.data_lake_dfs_url,
                filesystem=args.data_lake_filesystem,
                resource_id=args.data_lake_account_id,
            ),
            # Entra-only: SQL logins (the one below included) cannot sign in, to any
            # pool (https://learn.microsoft.com/azure/synapse-analytics/sql/active-directory-authentication).
            azure_ad_only_authentication=True,
            # Kept as workspaces were created with it: the login is set once, at creation
            # (Microsoft.Synapse workspaces REST API: sqlAdministratorLogin is not
            # updatable), so another value would make Pulumi replace the workspace and
            # everything in it. No password: a write-only input whose removal is an
            # in-place update, and a password would only matter if SQL logins worked.
            sql_administrator_login=args.sql_admin_login,
            managed_resource_group_name=args.managed_resource_group_name,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _entra_admin(
        self, name: str, args: SynapseWorkspaceArgs
    ) -> azure_native.synapse.WorkspaceAadAdmin:
        # The workspace's one Microsoft Entra admin (Microsoft.Synapse/workspaces/
        # administrators/activeDirectory): dbo of every dedicated SQL pool. Students reach
        # their pool through Synapse Administrator instead (docs/security.md). Not a student:
        # the admin can also scale a pool with ALTER DATABASE ... MODIFY (SERVICE_OBJECTIVE).
        return azure_native.synapse.WorkspaceAadAdmin(
            f"{name}-entra-admin",
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            administrator_type="ActiveDirectory",
            login=args.entra_admin_login,
            sid=args.entra_admin_object_id,
            tenant_id=args.tenant_id,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _firewall_rules(
        self, name: str, args: SynapseWorkspaceArgs
    ) -> list[azure_native.synapse.IpFirewallRule]:
        return [
            azure_native.synapse.IpFirewallRule(
                f"{name}-fw-{rule_name}",
                rule_name=rule_name,
                start_ip_address=start,
                end_ip_address=end,
                workspace_name=self.workspace.name,
                resource_group_name=args.resource_group_name,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for rule_name, start, end in firewall_rules(
                args.allowed_ip_ranges, args.deployer_ip_address
            )
        ]

    def _spark_pool(
        self, name: str, args: SynapseWorkspaceArgs
    ) -> azure_native.synapse.BigDataPool:
        return azure_native.synapse.BigDataPool(
            f"{name}-spark",
            big_data_pool_name=args.spark_pool_name,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            node_size_family=SPARK_NODE_FAMILY,
            node_size=SPARK_NODE_SIZE,
            auto_scale=azure_native.synapse.AutoScalePropertiesArgs(
                enabled=True, min_node_count=SPARK_MIN_NODES, max_node_count=SPARK_MAX_NODES
            ),
            auto_pause=azure_native.synapse.AutoPausePropertiesArgs(
                enabled=True, delay_in_minutes=SPARK_AUTO_PAUSE_MINUTES
            ),
            spark_version=args.spark_version,
            # The training notebook installs azure-ai-ml for its session.
            session_level_packages_enabled=True,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _sql_pool(self, name: str, args: SynapseWorkspaceArgs) -> azure_native.synapse.SqlPool:
        return azure_native.synapse.SqlPool(
            f"{name}-sql",
            sql_pool_name=args.sql_pool_name,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure_native.synapse.SkuArgs(name=SQL_POOL_SKU),
            collation=SQL_POOL_COLLATION,
            create_mode="Default",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _lake_access(
        self, name: str, args: SynapseWorkspaceArgs
    ) -> azure_native.authorization.RoleAssignment:
        # The workspace reads and writes the lake as itself (Spark tables, COPY INTO).
        return assign_role(
            f"{name}-lake-contributor",
            role_id=roles.STORAGE_BLOB_DATA_CONTRIBUTOR,
            principal_id=self.principal_id,
            principal_type="ServicePrincipal",
            scope=args.data_lake_account_id,
            subscription_id=args.subscription_id,
            description="Synapse workspace identity: read and write the lab's data lake",
            opts=pulumi.ResourceOptions(parent=self),
        )
