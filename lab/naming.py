"""Azure naming rules for every resource the lab creates.

One module owns the names so that the rules are checked in one place: each
``*_name`` function returns a name that satisfies its resource type's rules for
every valid prefix and suffix (``tests/lab/test_naming.py`` checks that exhaustively
over the edges). Globally unique names (storage accounts, Synapse workspaces, Key
Vaults) are made unique by the student's random suffix, as the lab's setup does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

SUFFIX_LENGTH = 7
SUFFIX_RE = re.compile(rf"^[a-z0-9]{{{SUFFIX_LENGTH}}}$")
STUDENT_ID_RE = re.compile(r"^[a-z0-9-]{1,20}$")
# Resource group prefix: it leads the resource-group name and the Synapse
# managed resource-group name, both limited to 90 characters of
# letters, digits, '-', '_', '.', '(' and ')'. We allow the safe subset.
PREFIX_RE = re.compile(r"^[a-z][a-z0-9-]{0,29}$")


@dataclass(frozen=True)
class NameRule:
    """The rule Azure applies to one resource type's name."""

    resource: str
    pattern: re.Pattern[str]
    min_length: int
    max_length: int

    def check(self, name: str) -> None:
        if not (self.min_length <= len(name) <= self.max_length) or not self.pattern.fullmatch(
            name
        ):
            raise ValueError(
                f"'{name}' is not a valid {self.resource} name "
                f"({self.min_length}-{self.max_length} characters matching {self.pattern.pattern})"
            )


RULES = {
    "resource_group": NameRule(
        "resource group", re.compile(r"[A-Za-z0-9_.()-]*[A-Za-z0-9_()-]"), 1, 90
    ),
    "storage_account": NameRule("storage account", re.compile(r"[a-z0-9]+"), 3, 24),
    "synapse_workspace": NameRule("Synapse workspace", re.compile(r"[a-z][a-z0-9]*"), 1, 50),
    "spark_pool": NameRule("Spark pool", re.compile(r"[A-Za-z][A-Za-z0-9]*"), 1, 15),
    "sql_pool": NameRule("dedicated SQL pool", re.compile(r"[A-Za-z][A-Za-z0-9_]*"), 1, 60),
    "firewall_rule": NameRule("Synapse firewall rule", re.compile(r"[A-Za-z0-9_-]+"), 1, 128),
    "ml_workspace": NameRule("Azure ML workspace", re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*"), 3, 33),
    "ml_compute": NameRule(
        "Azure ML compute", re.compile(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]"), 3, 24
    ),
    "ml_datastore": NameRule("Azure ML datastore", re.compile(r"[a-z_][a-z0-9_]*"), 1, 255),
    "key_vault": NameRule(
        "Key Vault", re.compile(r"[A-Za-z](?:[A-Za-z0-9]|-(?!-))*[A-Za-z0-9]"), 3, 24
    ),
    "app_insights": NameRule(
        "Application Insights", re.compile(r"[A-Za-z0-9_.()-]*[A-Za-z0-9_()-]"), 1, 255
    ),
    "log_analytics": NameRule(
        "Log Analytics workspace", re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]"), 4, 63
    ),
}

# The AML compute cluster and datastore names are the same in every student's
# workspace: the notebooks refer to them by these names.
ML_COMPUTE_NAME = "automl-cluster"
# Cost Management budget on each resource group: <prefix>-<student id> (names 1-63 chars).
BUDGET_NAME_PREFIX = "lab-budget"
ML_DATASTORE_NAME = "datalake"
DATA_CONTAINER = "files"


@dataclass(frozen=True)
class LabNames:
    """Every Azure name of one student's environment, derived from prefix and suffix."""

    prefix: str
    suffix: str

    def __post_init__(self) -> None:
        if not PREFIX_RE.fullmatch(self.prefix):
            raise ValueError(f"invalid resource group prefix '{self.prefix}'")
        if not SUFFIX_RE.fullmatch(self.suffix):
            raise ValueError(
                f"invalid suffix '{self.suffix}': {SUFFIX_LENGTH} of [a-z0-9] expected"
            )

    @property
    def resource_group(self) -> str:
        return f"{self.prefix}-{self.suffix}"

    @property
    def synapse_managed_resource_group(self) -> str:
        # Named explicitly (Azure would otherwise pick synapseworkspace-managedrg-<guid>)
        # so an instructor can see which student it belongs to and check it is gone.
        return f"{self.prefix}-{self.suffix}-synapse-managed"

    @property
    def data_lake(self) -> str:
        return f"datalake{self.suffix}"

    @property
    def synapse_workspace(self) -> str:
        return f"synapse{self.suffix}"

    @property
    def spark_pool(self) -> str:
        return f"spark{self.suffix}"

    @property
    def sql_pool(self) -> str:
        return f"sql{self.suffix}"

    @property
    def ml_workspace(self) -> str:
        return f"aml{self.suffix}"

    @property
    def ml_storage(self) -> str:
        return f"amlstore{self.suffix}"

    @property
    def key_vault(self) -> str:
        return f"amlkv{self.suffix}"

    @property
    def app_insights(self) -> str:
        return f"aml{self.suffix}-insights"

    @property
    def log_analytics(self) -> str:
        return f"aml{self.suffix}-logs"

    @property
    def ml_compute(self) -> str:
        return ML_COMPUTE_NAME

    @property
    def ml_datastore(self) -> str:
        return ML_DATASTORE_NAME

    def all(self) -> dict[str, str]:
        """Rule key -> name, for validation."""
        return {
            "resource_group": self.resource_group,
            "storage_account": self.data_lake,
            "synapse_workspace": self.synapse_workspace,
            "spark_pool": self.spark_pool,
            "sql_pool": self.sql_pool,
            "ml_workspace": self.ml_workspace,
            "ml_compute": self.ml_compute,
            "ml_datastore": self.ml_datastore,
            "key_vault": self.key_vault,
            "app_insights": self.app_insights,
            "log_analytics": self.log_analytics,
        } | {
            # rule keys repeat for the second storage account and the managed RG
            "storage_account#ml": self.ml_storage,
            "resource_group#managed": self.synapse_managed_resource_group,
        }

    def validate(self) -> None:
        for key, name in self.all().items():
            RULES[key.split("#")[0]].check(name)


def names_for(prefix: str, suffix: pulumi.Output[str]) -> pulumi.Output[LabNames]:
    """All names of an environment once its suffix is known."""

    def build(value: str) -> LabNames:
        names = LabNames(prefix, value)
        names.validate()
        return names

    return suffix.apply(build)


def normalise_student_id(raw: str) -> str:
    """A stack name made into a valid student id (lowercase, [a-z0-9-], 1-20 chars)."""
    value = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:20].strip("-")
    return value or "student"
