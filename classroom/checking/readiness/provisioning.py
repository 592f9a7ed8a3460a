"""The checks that read Azure Resource Manager: the student's resource group (its expiry tag), the
Synapse workspace and its pools, and the Azure ML workspace and compute cluster, each with its
provisioning state (and what runs now, at what price)."""

from __future__ import annotations

import contextlib
import datetime as dt

from classroom.planning.costs import PriceError
from components.synapse import SQL_POOL_SKU

from .base import _Skip, _StudentBase, provisioning_advice
from .model import AUTOML, EXPIRES_TAG, ML_COMPUTE, SQL_POOL, repair_command, up_command


class _Provisioning(_StudentBase):
    """The groups that read resources through ARM: resource group, Synapse, Azure ML."""

    def check_resource_group(self) -> None:
        from ..readonly import ResourceManagementClient

        env = self.env
        with ResourceManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            group = self.call(
                "resource group",
                f"resource group '{env.resource_group}'",
                "Azure Resource Manager",
                lambda: client.resource_groups.get(env.resource_group),
                missing=f"resource group '{env.resource_group}' does not exist: "
                f"{repair_command(env)}",
            )
        self.status.region = group.location
        state = getattr(group.properties, "provisioning_state", None)
        if state and state != "Succeeded":
            self.problem(
                "resource group",
                provisioning_advice(f"resource group '{env.resource_group}'", state, env),
            )
            raise _Skip()
        tag = (group.tags or {}).get(EXPIRES_TAG)
        try:
            self.status.expires_on = dt.date.fromisoformat(tag) if tag else None
        except ValueError:
            self.warn(
                "expiry",
                f"the `{EXPIRES_TAG}` tag of '{env.resource_group}' is not a date: {tag!r}",
            )
            return
        days = self.status.days_left()
        if days is None:
            self.warn(
                "expiry",
                f"resource group '{env.resource_group}' has no `{EXPIRES_TAG}` tag; "
                f"set lab:expiresOn and {up_command(env)}",
            )
        elif days < 0:
            self.problem(
                "expiry",
                f"expired on {tag}: destroy it (`python -m classroom destroy`) or move "
                f"lab:expiresOn and {up_command(env)}",
            )
        elif days <= self.settings.expiry_warning_days:
            self.warn("expiry", f"expires on {tag} ({days} day{'s' if days != 1 else ''} left)")

    def check_synapse(self) -> None:
        env = self.env
        self.provisioned(
            "Synapse workspace",
            f"Synapse workspace '{env.synapse_workspace}'",
            env.synapse_workspace_id,
        )
        self.workspace_ready = True
        for step in (self._spark_pool, self._sql_pool):
            with contextlib.suppress(_Skip):
                step()

    def _spark_pool(self) -> None:
        env = self.env
        pool = self.provisioned(
            "Spark pool",
            f"Spark pool '{env.spark_pool}'",
            f"{env.synapse_workspace_id}/bigDataPools/{env.spark_pool}",
        )
        auto = pool.get("autoScale") or {}
        self.priced["spark"] = {
            "bigDataPoolName": env.spark_pool,
            "nodeSize": pool.get("nodeSize"),
            "nodeCount": pool.get("nodeCount"),
            "autoScale": {"minNodeCount": auto.get("minNodeCount")}
            if auto.get("enabled")
            else None,
        }

    def _sql_pool(self) -> None:
        env = self.env
        if not env.sql_pool:
            return
        words = f"dedicated SQL pool '{env.sql_pool}'"
        # Provisioning state first: a Failed pool may still report Paused.
        pool = self.provisioned(
            "SQL pool", words, f"{env.synapse_workspace_id}/sqlPools/{env.sql_pool}"
        )
        sku = pool.get("_sku") or SQL_POOL_SKU
        status = pool.get("status")
        self.priced["sql"] = {"sqlPoolName": env.sql_pool, "sku": {"name": sku}}
        self.status.sql_pool_status = status
        if sku.upper() != SQL_POOL_SKU.upper():
            self._sql_pool_scaled(words, sku)
        if status == "Paused":
            return
        if status == "Online":
            per_hour = self._sql_hourly(sku)
            self.status.running[SQL_POOL] = per_hour or 0.0
            cost = f", costing {per_hour:.2f} {self.prices.currency} an hour" if per_hour else ""
            self.warn(
                "SQL pool",
                f"{words} is Online{cost}: pause it until "
                f"the T-SQL part (`az synapse sql pool pause --name {env.sql_pool} "
                f"--workspace-name {env.synapse_workspace} --resource-group {env.resource_group}`"
                + (
                    f", or `python -m classroom pause --stack {env.stack} --student {env.student}`"
                    if env.stack
                    else ""
                )
                + ")",
            )
        elif status in ("Pausing", "Resuming", "Scaling"):
            self.warn("SQL pool", f"{words} is {status}; check again in a few minutes")
        else:
            self.problem(
                "SQL pool",
                f"{words} is {status}: Pulumi cannot change a pool's status: check it in the "
                "portal (the workspace > SQL pools)",
            )

    def _sql_pool_scaled(self, words: str, sku: str) -> None:
        # Defence in depth: students cannot scale the pool through ARM (lab/permissions.yaml),
        # but whether Synapse Administrator reaches ALTER DATABASE ... MODIFY
        # (SERVICE_OBJECTIVE = ...) is not documented; a scaled pool bills at its new level
        # from its next resume on, so it is a problem even while Paused.
        env = self.env
        per_hour = self._sql_hourly(sku)
        cost = (
            f" costs {per_hour:.2f} {self.prices.currency} an hour while Online"
            if per_hour and self.prices
            else " costs more an hour while Online"
        )
        self.problem(
            "SQL pool",
            f"{words} is {sku}, not the lab's {SQL_POOL_SKU}: it{cost}; scale it back with "
            f"`az synapse sql pool update --name {env.sql_pool} --workspace-name "
            f"{env.synapse_workspace} --resource-group {env.resource_group} "
            f"--performance-level {SQL_POOL_SKU}`",
        )

    def _sql_hourly(self, sku: str) -> float | None:
        if self.prices is None or not self.status.region:
            return None
        try:
            region = self.prices.region(self.status.region)
        except PriceError:
            return None
        units = int(sku.upper().removeprefix("DW").removesuffix("C") or 100) / 100
        return units * float(region["sql_dw100c_hour"])

    def check_machine_learning(self) -> None:
        env = self.env
        ws = self.provisioned(
            "Azure ML", f"Azure ML workspace '{env.aml_workspace}'", env.aml_workspace_id
        )
        self.priced["ml_storage"] = bool(ws.get("storageAccount"))
        compute = self.provisioned(
            "Azure ML",
            f"compute cluster '{ML_COMPUTE}' of Azure ML workspace '{env.aml_workspace}'",
            f"{env.aml_workspace_id}/computes/{ML_COMPUTE}",
        )
        # An AmlCompute's own settings sit one level down: properties.properties.
        inner = compute.get("properties") or {}
        scale = inner.get("scaleSettings") or {}
        vm_size = inner.get("vmSize")
        self.priced["compute"] = {
            "computeName": ML_COMPUTE,
            "properties": {
                "properties": {
                    "vmSize": vm_size,
                    "scaleSettings": {
                        "maxNodeCount": scale.get("maxNodeCount", 0),
                        "minNodeCount": scale.get("minNodeCount", 0),
                    },
                }
            },
        }
        nodes = int(inner.get("currentNodeCount") or 0)
        self.status.compute_nodes = nodes
        if nodes:
            per_node = self._vm_hourly(vm_size)
            self.status.running[AUTOML] = nodes * (per_node or 0.0)
            cost = f" ({nodes * per_node:.2f} {self.prices.currency} an hour)" if per_node else ""
            self.warn(
                "Azure ML",
                f"compute cluster '{ML_COMPUTE}' has {nodes} node{'s' if nodes != 1 else ''} "
                f"running{cost}; it scales back to 0 once no job runs: cancel leftover jobs in Azure ML studio",
            )

    def _vm_hourly(self, vm_size: str | None) -> float | None:
        if self.prices is None or not self.status.region or not vm_size:
            return None
        try:
            return float(self.prices.region(self.status.region)["vm_hour"][vm_size])
        except (PriceError, KeyError):
            return None
