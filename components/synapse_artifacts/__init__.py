"""Synapse data-plane (and ARM action) resources the azure-native provider cannot express.

All are ``pulumi.dynamic`` resources deriving from :class:`LabDynamicResource`
(immune to pulumi 3.272's pickler re-wrapping); their providers build clients
inside each call, retry through one bounded loop (``_client.call_with_retries``)
and authenticate with ``_client.make_credential()`` (DefaultAzureCredential).

- :class:`AzureMLLinkedService`: the ``AzureML`` linked service.
- :class:`WorkspaceArtifacts`: one student's notebooks and SQL scripts.
- :class:`SqlPoolPause`: pauses the dedicated SQL pool once, on create.
- :class:`SynapseRoleAssignments`: Synapse RBAC role assignments.

Importing this package declares no resource.
"""
from ._base import LabDiffResult, LabDynamicResource, pickler_guard
from ._client import DataPlaneError, RetrySettings, make_credential
from .cleanup import KeyVaultPurge, LogAnalyticsForceDelete, MlWorkspacePurge
from .artifacts import (
    SMALL_NODE_SESSION,
    WEATHER_FORECAST_SCRIPT_NAME,
    ArtifactDefinitionError,
    SqlScriptSpec,
    WorkspaceArtifacts,
    WorkspaceArtifactsProvider,
    build_notebook_properties,
    sql_script_properties,
    weather_forecast_sql_script,
)
from .linked_service import DEFAULT_LINKED_SERVICE_NAME, AzureMLLinkedService, AzureMLLinkedServiceProvider
from .rbac import (
    SYNAPSE_ADMINISTRATOR,
    SYNAPSE_CONTRIBUTOR,
    SynapseRoleAssignmentArgs,
    SynapseRoleAssignments,
    SynapseRoleAssignmentsProvider,
    role_assignment_id,
)
from .sql_pool import SqlPoolPause, SqlPoolPauseProvider

__all__ = [
    "ArtifactDefinitionError",
    "AzureMLLinkedService",
    "AzureMLLinkedServiceProvider",
    "DEFAULT_LINKED_SERVICE_NAME",
    "DataPlaneError",
    "KeyVaultPurge",
    "LabDiffResult",
    "LabDynamicResource",
    "LogAnalyticsForceDelete",
    "MlWorkspacePurge",
    "RetrySettings",
    "SMALL_NODE_SESSION",
    "SYNAPSE_ADMINISTRATOR",
    "SYNAPSE_CONTRIBUTOR",
    "SqlPoolPause",
    "SqlPoolPauseProvider",
    "SqlScriptSpec",
    "SynapseRoleAssignmentArgs",
    "SynapseRoleAssignments",
    "SynapseRoleAssignmentsProvider",
    "WEATHER_FORECAST_SCRIPT_NAME",
    "WorkspaceArtifacts",
    "WorkspaceArtifactsProvider",
    "build_notebook_properties",
    "make_credential",
    "pickler_guard",
    "role_assignment_id",
    "sql_script_properties",
    "weather_forecast_sql_script",
]
