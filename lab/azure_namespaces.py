"""The ARM resource provider namespaces the program needs, and the VM sizes' quota figures.

A subscription must be *registered* with a namespace before ARM accepts a resource
of it: otherwise ARM answers ``MissingSubscriptionRegistration`` (Azure Resource
Manager docs, "Resolve errors for resource provider registration"). A fresh
subscription has most namespaces unregistered, and azure-native does not register
them (pulumi/pulumi-azure-native#3479). The program registers :data:`REQUIRED_NAMESPACES`
once per subscription, before any student's resources in it.

Nothing here declares a resource: it is data for components/ (what to register),
classroom's preflight (what to look at) and plan (which quotas a class needs).
"""

from __future__ import annotations

from dataclasses import dataclass

# azure-native module (the middle part of a type token, ``azure-native:<module>:<Type>``)
# -> the ARM namespace of its resources. tests/components/test_registration.py checks
# that every azure-native type the program declares has its module here, with the
# namespace its ARM id carries.
AZURE_NATIVE_MODULES: dict[str, str] = {
    "resources": "Microsoft.Resources",
    "authorization": "Microsoft.Authorization",
    "storage": "Microsoft.Storage",
    "synapse": "Microsoft.Synapse",
    "machinelearningservices": "Microsoft.MachineLearningServices",
    "keyvault": "Microsoft.KeyVault",
    "operationalinsights": "Microsoft.OperationalInsights",
    "applicationinsights": "Microsoft.Insights",
    # Diagnostic settings (Microsoft.Insights/diagnosticSettings), the lab's progress logs.
    "monitor": "Microsoft.Insights",
}

# Registered in every subscription and never unregistered ("Azure resource providers
# and types": "some resource providers are registered by default ... Microsoft.Authorization,
# Microsoft.Resources, ..."); registering them is unnecessary.
ALWAYS_REGISTERED = frozenset({"Microsoft.Resources", "Microsoft.Authorization"})

# Not the namespace of a declared resource, but registered by the lab's own setup
# (setup.ps1 registers Microsoft.Synapse, Microsoft.Sql, Microsoft.Storage,
# Microsoft.Compute and Microsoft.MachineLearningServices): a Synapse dedicated SQL
# pool is SQL capacity, and an Azure ML compute cluster is virtual machines.
LAB_SETUP_NAMESPACES = ("Microsoft.Sql", "Microsoft.Compute")

# What the program registers in each subscription it uses, sorted.
REQUIRED_NAMESPACES: tuple[str, ...] = tuple(
    sorted(
        {ns for ns in AZURE_NATIVE_MODULES.values() if ns not in ALWAYS_REGISTERED}
        | set(LAB_SETUP_NAMESPACES)
    )
)

# azure-native type token -> (namespace, ARM resource type) of every resource the
# program declares: the preflight checks that each is offered in the class's region
# (the provider's resourceTypes[].locations). A new resource type needs a row here
# (tests/components/test_registration.py fails otherwise).
RESOURCE_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": ("Microsoft.Resources", "resourceGroups"),
    "azure-native:storage:StorageAccount": ("Microsoft.Storage", "storageAccounts"),
    "azure-native:storage:BlobContainer": (
        "Microsoft.Storage",
        "storageAccounts/blobServices/containers",
    ),
    "azure-native:storage:Blob": ("Microsoft.Storage", "storageAccounts/blobServices"),
    "azure-native:synapse:Workspace": ("Microsoft.Synapse", "workspaces"),
    "azure-native:synapse:IpFirewallRule": ("Microsoft.Synapse", "workspaces/firewallRules"),
    "azure-native:synapse:WorkspaceAadAdmin": ("Microsoft.Synapse", "workspaces/administrators"),
    "azure-native:synapse:BigDataPool": ("Microsoft.Synapse", "workspaces/bigDataPools"),
    "azure-native:synapse:SqlPool": ("Microsoft.Synapse", "workspaces/sqlPools"),
    "azure-native:machinelearningservices:Workspace": (
        "Microsoft.MachineLearningServices",
        "workspaces",
    ),
    "azure-native:machinelearningservices:Compute": (
        "Microsoft.MachineLearningServices",
        "workspaces/computes",
    ),
    "azure-native:machinelearningservices:Datastore": (
        "Microsoft.MachineLearningServices",
        "workspaces/datastores",
    ),
    "azure-native:keyvault:Vault": ("Microsoft.KeyVault", "vaults"),
    "azure-native:operationalinsights:Workspace": ("Microsoft.OperationalInsights", "workspaces"),
    "azure-native:applicationinsights:Component": ("Microsoft.Insights", "components"),
    "azure-native:monitor:DiagnosticSetting": ("Microsoft.Insights", "diagnosticSettings"),
    "azure-native:authorization:RoleAssignment": ("Microsoft.Authorization", "roleAssignments"),
    "azure-native:authorization:RoleDefinition": ("Microsoft.Authorization", "roleDefinitions"),
}


def namespace_of(type_token: str) -> str | None:
    """The ARM namespace of an azure-native type token, None for anything else."""
    parts = type_token.split(":")
    if len(parts) != 3 or parts[0] != "azure-native":
        return None
    return AZURE_NATIVE_MODULES.get(parts[1])


# ----------------------------------------------------------------------------- VM sizes


@dataclass(frozen=True)
class VmSize:
    """What Azure ML counts against quota for one node of a VM size."""

    name: str
    family: str  # as the Azure ML vmSizes API names it, e.g. standardDSv2Family
    vcpus: int


# The sizes an AutoML cluster of this lab plausibly uses. Family names and vCPUs as the
# Azure ML "Virtual Machine Sizes - List" API reports them (and the VM size pages of the
# Azure docs); the preflight reads the real figures from Azure, this table is for the
# offline plan only.
VM_SIZES: dict[str, VmSize] = {
    size.name.lower(): size
    for size in (
        VmSize("Standard_DS2_v2", "standardDSv2Family", 2),
        VmSize("Standard_DS3_v2", "standardDSv2Family", 4),
        VmSize("Standard_DS4_v2", "standardDSv2Family", 8),
        VmSize("Standard_DS11_v2", "standardDSv2Family", 2),
        VmSize("Standard_DS12_v2", "standardDSv2Family", 4),
        VmSize("Standard_D2_v2", "standardDv2Family", 2),
        VmSize("Standard_D3_v2", "standardDv2Family", 4),
        VmSize("Standard_D4_v2", "standardDv2Family", 8),
        VmSize("Standard_D2s_v3", "standardDSv3Family", 2),
        VmSize("Standard_D4s_v3", "standardDSv3Family", 4),
        VmSize("Standard_D8s_v3", "standardDSv3Family", 8),
        VmSize("Standard_D2ds_v5", "standardDDSv5Family", 2),
        VmSize("Standard_D4ds_v5", "standardDDSv5Family", 4),
        VmSize("Standard_E4s_v3", "standardESv3Family", 4),
        VmSize("Standard_F4s_v2", "standardFSv2Family", 4),
    )
}


def vm_size(name: str) -> VmSize | None:
    """The known figures of a VM size (names compare without case), None when unknown."""
    return VM_SIZES.get(name.lower())
