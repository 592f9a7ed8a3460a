"""The student's Azure Machine Learning workspace, its dependencies and AutoML compute."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_azure_native as azure_native

from lab import roles
from providers.arm import KeyVaultPurge, LogAnalyticsForceDelete, MlWorkspacePurge

from .data_lake import hardened_storage_account
from .roles import assign_role

# The lab runs AutoML with 2 concurrent iterations: 2 nodes at most, none while idle.
COMPUTE_MIN_NODES = 0
COMPUTE_MAX_NODES = 2
# Scale back to zero nodes 5 minutes after the last job (ISO 8601 duration).
COMPUTE_IDLE_BEFORE_SCALE_DOWN = "PT5M"
KEY_VAULT_SOFT_DELETE_DAYS = 7  # the minimum Azure allows
LOG_RETENTION_DAYS = 30  # the free retention of a PerGB2018 workspace


@dataclass
class MachineLearningWorkspaceArgs:
    resource_group_name: pulumi.Input[str]
    location: pulumi.Input[str]
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    storage_account_name: pulumi.Input[str]
    key_vault_name: pulumi.Input[str]
    app_insights_name: pulumi.Input[str]
    log_analytics_name: pulumi.Input[str]
    compute_name: str
    compute_vm_size: str
    datastore_name: str
    data_lake_account_name: pulumi.Input[str]
    data_lake_account_id: pulumi.Input[str]
    data_lake_filesystem: pulumi.Input[str]
    tags: Mapping[str, pulumi.Input[str]]


class MachineLearningWorkspace(pulumi.ComponentResource):
    """Workspace ``aml<suffix>`` with its own Key Vault, storage, monitoring, compute and lake datastore."""

    def __init__(
        self,
        name: str,
        args: MachineLearningWorkspaceArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("synapse-ml-lab:ml:MachineLearningWorkspace", name, None, opts)
        self.storage = self._storage(name, args)
        self.key_vault_purge, self.key_vault = self._key_vault(name, args)
        self.log_analytics, self.log_analytics_force_delete, self.app_insights = self._monitoring(
            name, args
        )
        self.workspace, self.workspace_purge = self._workspace(name, args)
        # Everything inside the workspace goes before its purge on destroy.
        inside_workspace = pulumi.ResourceOptions(parent=self, depends_on=[self.workspace_purge])
        self.compute = self._compute(name, args, inside_workspace)
        self.datastore = self._datastore(name, args, inside_workspace)
        self.principal_id: pulumi.Output[str] = self.workspace.identity.apply(
            lambda i: i.principal_id
        )
        self.compute_principal_id: pulumi.Output[str] = self.compute.identity.apply(
            lambda i: i.principal_id
        )
        self.lake_readers = self._lake_readers(name, args)

        # What other components use of the workspace also waits for (and on
        # destroy goes before) the purge: the Synapse role, the linked service.
        self.workspace_name: pulumi.Output[str] = pulumi.Output.all(
            self.workspace.name, self.workspace_purge.id
        ).apply(lambda values: values[0])
        self.workspace_id: pulumi.Output[str] = pulumi.Output.all(
            self.workspace.id, self.workspace_purge.id
        ).apply(lambda values: values[0])
        # The Log Analytics workspace, for the lab's diagnostic settings: it also waits
        # for the force delete, so on destroy what sends logs to it goes before the purge.
        self.log_analytics_workspace_id: pulumi.Output[str] = pulumi.Output.all(
            self.log_analytics.id, self.log_analytics_force_delete.id
        ).apply(lambda values: values[0])
        # Its workspace (customer) id, a GUID: what the Log Analytics query API addresses.
        self.log_analytics_customer_id: pulumi.Output[str] = self.log_analytics.customer_id
        self.compute_name: pulumi.Output[str] = self.compute.name
        self.datastore_name: pulumi.Output[str] = self.datastore.name
        self.studio_url: pulumi.Output[str] = self.workspace.id.apply(
            lambda ws_id: f"https://ml.azure.com/home?wsid={ws_id}"
        )
        self.register_outputs(
            {
                "workspaceName": self.workspace_name,
                "workspaceId": self.workspace_id,
                "logAnalyticsWorkspaceId": self.log_analytics_workspace_id,
                "principalId": self.principal_id,
                "computeName": self.compute_name,
                "datastoreName": self.datastore_name,
            }
        )

    def _storage(
        self, name: str, args: MachineLearningWorkspaceArgs
    ) -> azure_native.storage.StorageAccount:
        return hardened_storage_account(
            f"{name}-storage",
            account_name=args.storage_account_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            tags=args.tags,
            # Azure ML's workspace storage must not have a hierarchical namespace.
            hierarchical_namespace=False,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _key_vault(
        self, name: str, args: MachineLearningWorkspaceArgs
    ) -> tuple[KeyVaultPurge, azure_native.keyvault.Vault]:
        # Teardown that leaves nothing: the vault depends on its purge, so on
        # destroy the vault is deleted (soft) first, then purged (its name would
        # stay reserved otherwise). Inputs are the vault's own names, not its outputs.
        purge = KeyVaultPurge(
            f"{name}-keyvault-purge",
            subscription_id=args.subscription_id,
            location=args.location,
            vault_name=args.key_vault_name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.ResourceOptions(parent=self),
        )
        vault = azure_native.keyvault.Vault(
            f"{name}-keyvault",
            vault_name=args.key_vault_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            properties=azure_native.keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=azure_native.keyvault.SkuArgs(family="A", name="standard"),
                enable_rbac_authorization=True,
                # Purge protection stays off (it is left unset: Key Vault refuses an
                # explicit false) so the vault can be purged when the class ends.
                enable_soft_delete=True,
                soft_delete_retention_in_days=KEY_VAULT_SOFT_DELETE_DAYS,
            ),
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[purge]),
        )
        return purge, vault

    def _monitoring(
        self, name: str, args: MachineLearningWorkspaceArgs
    ) -> tuple[
        azure_native.operationalinsights.Workspace,
        LogAnalyticsForceDelete,
        azure_native.applicationinsights.Component,
    ]:
        # An explicit Log Analytics workspace: without one Azure creates a managed
        # one in another resource group that outlives the lab.
        logs = azure_native.operationalinsights.Workspace(
            f"{name}-logs",
            workspace_name=args.log_analytics_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure_native.operationalinsights.WorkspaceSkuArgs(name="PerGB2018"),
            retention_in_days=LOG_RETENTION_DAYS,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Deleted before the Log Analytics workspace (Application Insights waits
        # for it), it force-deletes the workspace so its name is not kept 14 days.
        force_delete = LogAnalyticsForceDelete(
            f"{name}-logs-force-delete",
            workspace_id=logs.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        insights = azure_native.applicationinsights.Component(
            f"{name}-insights",
            resource_name_=args.app_insights_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="web",
            application_type="web",
            ingestion_mode="LogAnalytics",
            workspace_resource_id=logs.id,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[force_delete]),
        )
        return logs, force_delete, insights

    def _workspace(
        self, name: str, args: MachineLearningWorkspaceArgs
    ) -> tuple[azure_native.machinelearningservices.Workspace, MlWorkspacePurge]:
        workspace = azure_native.machinelearningservices.Workspace(
            f"{name}-workspace",
            workspace_name=args.workspace_name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            sku=azure_native.machinelearningservices.SkuArgs(name="Basic", tier="Basic"),
            identity=azure_native.machinelearningservices.ManagedServiceIdentityArgs(
                type="SystemAssigned"
            ),
            storage_account=self.storage.id,
            key_vault=self.key_vault.id,
            application_insights=self.app_insights.id,
            friendly_name=args.workspace_name,
            description="Azure Machine Learning workspace of the Synapse + Azure ML lab",
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Deleting the workspace permanently (no 14-day soft-deleted copy that
        # blocks its name): everything inside the workspace, and everything that
        # uses it, depends on this resource, so on destroy they go first, then it
        # purges the workspace, then azure-native finds the workspace gone.
        purge = MlWorkspacePurge(
            f"{name}-workspace-purge",
            workspace_id=workspace.id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return workspace, purge

    def _compute(
        self, name: str, args: MachineLearningWorkspaceArgs, opts: pulumi.ResourceOptions
    ) -> azure_native.machinelearningservices.Compute:
        return azure_native.machinelearningservices.Compute(
            f"{name}-compute",
            compute_name=args.compute_name,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            location=args.location,
            # Its own identity reads the lake through the identity-based datastore.
            identity=azure_native.machinelearningservices.ManagedServiceIdentityArgs(
                type="SystemAssigned"
            ),
            properties=azure_native.machinelearningservices.AmlComputeArgs(
                compute_type="AmlCompute",
                description="AutoML training cluster: 0 nodes when idle",
                properties=azure_native.machinelearningservices.AmlComputePropertiesArgs(
                    vm_size=args.compute_vm_size,
                    vm_priority="Dedicated",
                    os_type="Linux",
                    scale_settings=azure_native.machinelearningservices.ScaleSettingsArgs(
                        min_node_count=COMPUTE_MIN_NODES,
                        max_node_count=COMPUTE_MAX_NODES,
                        node_idle_time_before_scale_down=COMPUTE_IDLE_BEFORE_SCALE_DOWN,
                    ),
                ),
            ),
            tags=args.tags,
            opts=opts,
        )

    def _datastore(
        self, name: str, args: MachineLearningWorkspaceArgs, opts: pulumi.ResourceOptions
    ) -> azure_native.machinelearningservices.Datastore:
        # The data lake as a datastore with identity-based access: no account key
        # or SAS token is stored in the workspace.
        return azure_native.machinelearningservices.Datastore(
            f"{name}-datastore",
            name=args.datastore_name,
            workspace_name=self.workspace.name,
            resource_group_name=args.resource_group_name,
            properties=azure_native.machinelearningservices.AzureDataLakeGen2DatastoreArgs(
                datastore_type="AzureDataLakeGen2",
                account_name=args.data_lake_account_name,
                filesystem=args.data_lake_filesystem,
                subscription_id=args.subscription_id,
                resource_group=args.resource_group_name,
                credentials=azure_native.machinelearningservices.NoneDatastoreCredentialsArgs(
                    credentials_type="None"
                ),
                service_data_access_auth_identity="WorkspaceSystemAssignedIdentity",
                description="The lab's data lake (identity-based access)",
            ),
            opts=opts,
        )

    def _lake_readers(self, name: str, args: MachineLearningWorkspaceArgs) -> list:
        """Both identities read the lake: the workspace's (datastore) and the compute's (jobs)."""
        return [
            assign_role(
                f"{name}-{who}-lake-reader",
                role_id=roles.STORAGE_BLOB_DATA_READER,
                principal_id=principal,
                principal_type="ServicePrincipal",
                scope=args.data_lake_account_id,
                subscription_id=args.subscription_id,
                description=f"Azure ML {who} identity: read the lab's data lake",
                opts=pulumi.ResourceOptions(parent=self),
            )
            for who, principal in (
                ("workspace", self.principal_id),
                ("compute", self.compute_principal_id),
            )
        ]
