"""Synapse data-plane resources (and the SQL pool pause) that azure-native cannot express.

All are ``pulumi.dynamic`` resources deriving from :class:`providers.base.LabDynamicResource`;
their providers build clients inside each call, retry through one bounded loop
(``providers.client.call_with_retries``) and authenticate with
``providers.client.make_credential()`` (providers/credentials.py: GitHub OIDC in
CI, else DefaultAzureCredential).

- :class:`AzureMLLinkedService`: the ``AzureML`` linked service.
- :class:`WorkspaceArtifacts`: one student's notebooks and SQL scripts.
- :class:`SqlPoolPause`: pauses the dedicated SQL pool once, on create.
- :class:`SynapseRoleAssignments`: Synapse RBAC role assignments.
- :class:`PauseSchedule`: the cost guard's ``Pause SQL pool`` pipeline and its started trigger(s).
"""

from lab.studio import PREDICT_RENTALS_SCRIPT_NAME, WEATHER_FORECAST_SCRIPT_NAME

from .artifacts import (
    SMALL_NODE_SESSION,
    SQL_MODEL_LAKE_PATH,
    ArtifactDefinitionError,
    SqlScriptSpec,
    WorkspaceArtifacts,
    WorkspaceArtifactsProvider,
    build_notebook_properties,
    predict_rentals_sql_script,
    sql_script_properties,
    weather_forecast_sql_script,
)
from .linked_service import (
    DEFAULT_LINKED_SERVICE_NAME,
    AzureMLLinkedService,
    AzureMLLinkedServiceProvider,
)
from .pause_schedule import PauseSchedule, PauseScheduleProvider
from .rbac import (
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
    "PREDICT_RENTALS_SCRIPT_NAME",
    "PauseSchedule",
    "PauseScheduleProvider",
    "SMALL_NODE_SESSION",
    "SQL_MODEL_LAKE_PATH",
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
    "predict_rentals_sql_script",
    "role_assignment_id",
    "sql_script_properties",
    "weather_forecast_sql_script",
]
