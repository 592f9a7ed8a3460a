"""The REST api-versions the project calls, in one place.

The providers (``providers/``) send them on their own calls, and ``python -m
classroom status`` reads the same resources by id with them
(azure-mgmt-resource ``resources.get_by_id``), so a check never reads a resource
in a shape older than the one the program writes. Change one here and both
follow; the fakes in ``tests/fakes/`` pin the values they accept on their own.
"""

from __future__ import annotations

# Synapse data plane (artifacts, linked services, Synapse RBAC): the stable version of
# azure-synapse-artifacts and azure-synapse-accesscontrol.
SYNAPSE_DATA_PLANE = "2020-12-01"
# Microsoft.Synapse (ARM): workspaces, Spark (bigDataPools) and dedicated SQL pools (the version
# azure-native 3.29 writes them with, and the SQL pool pause provider's).
SYNAPSE = "2021-06-01"
# Microsoft.MachineLearningServices (ARM): workspaces and computes (the teardown purge and the
# check; azure-native 3.29 itself writes them at 2025-12-01, whose shape of these fields is the same).
MACHINE_LEARNING = "2025-06-01"
# Microsoft.Storage (ARM): the data lake's account, read by the check for its provisioning state
# (the version azure-native 3.29 writes storage accounts with).
STORAGE = "2024-01-01"
# Microsoft.OperationalInsights (ARM): Log Analytics workspaces (teardown purge).
LOG_ANALYTICS = "2023-09-01"
# Microsoft.KeyVault (ARM): vaults and deleted vaults (teardown purge).
KEY_VAULT = "2023-07-01"

# ARM resource provider namespace (lower case) -> the version resources of it are read with.
BY_NAMESPACE = {
    "microsoft.synapse": SYNAPSE,
    "microsoft.machinelearningservices": MACHINE_LEARNING,
    "microsoft.storage": STORAGE,
    "microsoft.operationalinsights": LOG_ANALYTICS,
    "microsoft.keyvault": KEY_VAULT,
}
