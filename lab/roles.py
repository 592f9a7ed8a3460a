"""Well-known Azure role definition IDs, the project's custom roles, and the rules every assignment follows.

``components.roles.assign_role`` applies them to each assignment the program
declares: an explicit principal type (azure-native would otherwise send
"User", which Azure refuses for a managed identity), a deterministic GUID name
(a re-run never creates a duplicate), and never Owner or a subscription scope.

The custom roles (:data:`CUSTOM_ROLES`) are declared once per subscription of a
stack by ``components.subscription.SubscriptionSetup`` (through
``components.custom_roles``) and each is assigned on one resource at a time:

- "SQL pool operator" (:data:`SQL_POOL_OPERATOR`): a student's own dedicated SQL
  pool; the cost guard's workspace identity on its own pool;
- "Azure ML student" (:data:`AML_STUDENT`): a student on their Azure ML
  workspace, in place of AzureML Data Scientist;
- "Azure ML for Synapse" (:data:`AML_FOR_SYNAPSE`): the Synapse workspace
  identity on its Azure ML workspace, in place of Contributor.

No identity the program creates or grants holds Contributor or Owner anywhere
(``lab/permissions.yaml`` proves what each one, and each student through it, can do).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

# Built-in role ids are the same in every tenant and cloud
# (https://learn.microsoft.com/azure/role-based-access-control/built-in-roles).
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
STORAGE_BLOB_DATA_OWNER = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
AZUREML_DATA_SCIENTIST = "f6c7c914-8db3-469d-8ca1-694a8f32e121"
# Synapse RBAC (data plane), not ARM roles.
SYNAPSE_ADMINISTRATOR = "6e4bf58a-b8e1-4cc3-bbf9-d73143322b78"
SYNAPSE_CONTRIBUTOR = "7572bffe-f453-4b66-912a-46cc5ef38fda"
# Synapse Credential User: "use of secrets within credentials and linked services";
# its id as Synapse lists it (GET https://<workspace>.dev.azuresynapse.net/roleDefinitions).
SYNAPSE_CREDENTIAL_USER = "5eb298b4-692c-4241-9cf0-f58a3b42bb25"

ROLE_NAMES = {
    READER: "Reader",
    CONTRIBUTOR: "Contributor",
    OWNER: "Owner",
    STORAGE_BLOB_DATA_OWNER: "Storage Blob Data Owner",
    STORAGE_BLOB_DATA_CONTRIBUTOR: "Storage Blob Data Contributor",
    STORAGE_BLOB_DATA_READER: "Storage Blob Data Reader",
    AZUREML_DATA_SCIENTIST: "AzureML Data Scientist",
}

PRINCIPAL_TYPES = ("User", "Group", "ServicePrincipal")
_RESOURCE_GROUP_SCOPE = re.compile(
    r"^/subscriptions/[^/]+/resourceGroups/[^/]+(/.*)?$", re.IGNORECASE
)
# Fixed namespace so a role assignment's GUID depends only on what it grants.
_NAMESPACE = uuid.UUID("5f0d8f0e-3b59-4d7c-9a57-6a1f3e0c2b11")


def role_definition_id(subscription_id: str, role_id: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"


def assignment_guid(scope: str, role_id: str, principal_id: str) -> str:
    """The same scope, role and principal always give the same assignment name."""
    return str(uuid.uuid5(_NAMESPACE, f"{scope.lower()}|{role_id}|{principal_id.lower()}"))


def check_scope(scope: str) -> str:
    """Only a resource group or something inside one: never a subscription or management group."""
    if not _RESOURCE_GROUP_SCOPE.match(scope):
        raise ValueError(f"role assignment at subscription scope or above refused: {scope!r}")
    return scope


@dataclass(frozen=True)
class CustomRole:
    """A custom Azure role the project defines: its actions, nothing else.

    A wildcard only where Microsoft's how-to-assign-roles page gives one for the
    task (``workspaces/*/read``, ``jobs/*``, ``models/*/write``): the permission
    proof evaluates each with Azure's matching and fails if it reaches a
    forbidden operation.
    """

    key: str
    role_name: str
    description: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = ()
    not_data_actions: tuple[str, ...] = ()


# Read, pause and resume one dedicated SQL pool, and read the status of those
# long-running operations (Studio and `az synapse sql pool pause|resume` poll
# them). Not sqlPools/write: that is what scales DW100c to DW30000c.
# Action names: https://learn.microsoft.com/azure/role-based-access-control/permissions/analytics#microsoftsynapse
SQL_POOL_OPERATOR = CustomRole(
    key="sql-pool-operator",
    role_name="synapse-ml-lab SQL pool operator",
    description=(
        "Read, pause and resume a dedicated SQL pool of the synapse-ml-lab class; "
        "no scaling, no create or delete."
    ),
    actions=(
        "Microsoft.Synapse/workspaces/sqlPools/read",
        "Microsoft.Synapse/workspaces/sqlPools/pause/action",
        "Microsoft.Synapse/workspaces/sqlPools/resume/action",
        "Microsoft.Synapse/workspaces/sqlPools/operationResults/read",
        "Microsoft.Synapse/workspaces/sqlPools/operationStatuses/read",
    ),
)

# Action names: the operations list,
# https://learn.microsoft.com/azure/role-based-access-control/permissions/ai-machine-learning#microsoftmachinelearningservices
# Which task needs which: https://learn.microsoft.com/azure/machine-learning/how-to-assign-roles
# ("Common scenarios": "Submitting any type of run (V2)", "Create/Register MLflow
# model"). Neither role holds computes/write|delete, onlineEndpoints/*,
# batchEndpoints/*, listKeys or workspaces/write: lab/permissions.yaml lists them as
# forbidden and tests/lab/test_permissions.py fails if either role grants one.
_AML = "Microsoft.MachineLearningServices/workspaces"
_AML_READ = (
    # how-to-assign-roles, "Submitting any type of run (V2)": "/workspaces/*/read";
    # reads only (no list-secrets action ends in /read).
    f"{_AML}/read",
    f"{_AML}/*/read",
)
_AML_RUN_V2 = (
    # how-to-assign-roles, "Submitting any type of run (V2)".
    f"{_AML}/jobs/*",
    f"{_AML}/environments/write",
    f"{_AML}/environments/build/action",
    f"{_AML}/environments/readSecrets/action",
    f"{_AML}/metadata/artifacts/write",
    f"{_AML}/metadata/codes/*/write",
)
_AML_MODELS = (
    # how-to-assign-roles, "Create/Register MLflow model": "/workspaces/models/*/write";
    # models/write (the model container) from the operations list: the first
    # version of rental-prediction-model creates the container.
    f"{_AML}/models/write",
    f"{_AML}/models/*/write",
)
_AML_DATASTORE_SECRETS = (
    # azure-ai-ml reads a credential-based datastore's secret before it uploads or
    # downloads (models.create_or_update, models.download, jobs.download use the
    # workspace's own blob store): azure-ai-ml _artifacts/_artifact_utilities.py.
    f"{_AML}/datastores/listsecrets/action",
)

# The student on their own Azure ML workspace: what notebooks 02 and 03 call with
# the student's token (notebooks/make_notebooks.py: jobs.create_or_update, jobs.get,
# jobs.download, workspaces.get, MLflow artifact download, models.create_or_update,
# models.get, models.download) and following the job in Azure ML studio.
AML_STUDENT = CustomRole(
    key="aml-student",
    role_name="synapse-ml-lab Azure ML student",
    description=(
        "Submit and follow jobs, register and read models in an Azure ML workspace of the "
        "synapse-ml-lab class; no compute, endpoint or workspace changes, no keys."
    ),
    actions=(*_AML_READ, *_AML_RUN_V2, *_AML_MODELS, *_AML_DATASTORE_SECRETS),
)

# The Synapse workspace identity on its Azure ML workspace, what the AzureML linked
# service uses (https://learn.microsoft.com/azure/synapse-analytics/machine-learning/quickstart-integrate-azure-machine-learning
# grants Contributor; this is the part of it the features use): the "Train a new
# model" wizard submits an AutoML run (V1 run submission in how-to-assign-roles:
# experiments/runs/submit/action, experiments/runs/write, metadata/snapshots/write,
# and the training data registered as a dataset: datasets/registered/write), the
# "Predict with a model" wizard lists and downloads registered models, and a
# trained model is registered (models/*/write).
AML_FOR_SYNAPSE = CustomRole(
    key="aml-for-synapse",
    role_name="synapse-ml-lab Azure ML for Synapse",
    description=(
        "What the AzureML linked service of a synapse-ml-lab Synapse workspace uses: runs, "
        "AutoML, datasets and models; no compute, endpoint or workspace changes, no keys."
    ),
    actions=(
        *_AML_READ,
        *_AML_RUN_V2,
        f"{_AML}/experiments/runs/submit/action",
        f"{_AML}/experiments/runs/write",
        f"{_AML}/metadata/snapshots/write",
        f"{_AML}/datasets/registered/write",
        *_AML_MODELS,
        *_AML_DATASTORE_SECRETS,
    ),
)
CUSTOM_ROLES = (SQL_POOL_OPERATOR, AML_STUDENT, AML_FOR_SYNAPSE)


def custom_role_guid(role: CustomRole, stack: str, subscription_id: str) -> str:
    """The role definition's name (a GUID): one per role, stack and subscription, stable across runs.

    Per stack as well as per subscription: the sections of a class (and two
    classes) can share a subscription, and a definition owned by two stacks would
    be deleted by whichever is destroyed first (Azure refuses while another
    stack's assignments still use it).
    """
    return str(uuid.uuid5(_NAMESPACE, f"custom-role|{role.key}|{stack}|{subscription_id.lower()}"))


def custom_role_name(role: CustomRole, stack: str, subscription_id: str) -> str:
    """The display name: unique in the Entra tenant, as Azure requires of custom roles.

    https://learn.microsoft.com/azure/role-based-access-control/custom-roles#custom-role-properties
    ("This display name must be unique at the scope of the Microsoft Entra tenant";
    at most 512 characters).
    """
    return f"{role.role_name} ({stack}, {subscription_id.lower()})"
