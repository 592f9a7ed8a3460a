"""Cost estimate of what the program declares, from the price table in prices.json.

The estimate reads the declared resources themselves (node size and autoscale
minimum of the Spark pool, the SQL pool's SKU, the compute cluster's VM size and
maximum nodes), so it follows the program, not a copy of its settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab import diagnostics

PRICES_FILE = Path(__file__).with_name("prices.json")

# vCores of one Synapse Spark node by size (Memory Optimized family).
SPARK_NODE_VCORES = {
    "Small": 4,
    "Medium": 8,
    "Large": 16,
    "XLarge": 32,
    "XXLarge": 64,
    "XXXLarge": 80,
}
# DW100c is one unit; DWnnnc is nnn/100 units of the DW100c price.
# Idle-time assumptions: a lab's data is tiny, these are generous upper bounds.
IDLE_STORAGE_GB_PER_ACCOUNT = 1.0
IDLE_SQL_STORAGE_TB = 0.01
IDLE_LOG_GB_PER_DAY = 0.01
HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = 30.4
BYTES_PER_GB = 1e9  # Log Analytics bills GB of 10^9 bytes (Azure Monitor docs, logs/cost-logs.md)

# The lab-progress logs (components/diagnostics.py): an assumed upper bound of what one
# student sends per lab hour, by category: (rows, billed bytes per row). Nothing here
# was measured on a live tenant; the pilot reads the real figure from the workspace's
# Usage table (docs: pilot checklist). The billed size of a row is the text of its
# columns, standard columns excluded (logs/cost-logs.md, "Data size calculation").
PROGRESS_LOG_ROWS_PER_LAB_HOUR: dict[str, tuple[int, int]] = {
    # A row per state change of a run (queued, in progress, done), with its
    # Parameters/SystemParameters JSON: the notebooks run as pipelines a few times.
    diagnostics.PIPELINE_RUNS: (10, 2500),
    # Activity rows carry the activity's Input and Output JSON (a notebook run's result).
    diagnostics.ACTIVITY_RUNS: (20, 4000),
    # The cost guard's schedule fires a few times a day, not per lab hour.
    diagnostics.TRIGGER_RUNS: (2, 1500),
    # Serverless SQL: only queries that read files from the lake (exploring the data).
    diagnostics.BUILTIN_SQL_REQUESTS: (30, 1500),
    # One row per Spark application (a notebook session) that ends.
    diagnostics.SPARK_APPS_ENDED: (5, 2000),
    # Every request of the dedicated pool, including what Synapse Studio and the tools
    # send on their own while a student browses: the largest by far. Command is the
    # statement's text, cut at 4,000 bytes (sys.dm_pdw_exec_requests).
    diagnostics.SQL_POOL_EXEC_REQUESTS: (300, 2000),
}


class PriceError(ValueError):
    """No price for a region or a VM size."""


@dataclass(frozen=True)
class PriceTable:
    currency: str
    read_on: str
    source: str
    method: str
    regions: Mapping[str, Mapping[str, Any]]
    # The monthly free Log Analytics ingestion (gb_per_month, per, source, read_on).
    log_analytics_free: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path = PRICES_FILE) -> PriceTable:
        data = json.loads(path.read_text())
        return cls(
            data["currency"],
            data["read_on"],
            data["source"],
            data.get("method", ""),
            data["regions"],
            data.get("log_analytics_free", {}),
        )

    def provenance(self, name: str) -> tuple[str, str]:
        """(read on, method) of a region's prices: its own when refreshed, else the table's."""
        region = self.regions.get(name, {})
        return region.get("read_on", self.read_on), region.get("method", self.method)

    def region(self, name: str) -> Mapping[str, Any]:
        if name not in self.regions:
            raise PriceError(
                f"no prices for region '{name}' in {PRICES_FILE.name}; known regions: "
                f"{', '.join(sorted(self.regions))}. Add it with "
                f"`python -m classroom prices --region {name}`."
            )
        return self.regions[name]


@dataclass
class CostLine:
    item: str
    amount: float


@dataclass
class StudentCost:
    in_use_per_hour: list[CostLine] = field(default_factory=list)
    idle_per_day: list[CostLine] = field(default_factory=list)
    # The lab-progress logs this student sends per lab hour (MB of 10^6 bytes), and their price.
    progress_log_mb_per_hour: float = 0.0
    log_price_per_gb: float = 0.0

    @property
    def hourly(self) -> float:
        return sum(line.amount for line in self.in_use_per_hour)

    @property
    def daily_idle(self) -> float:
        return sum(line.amount for line in self.idle_per_day)

    def total(self, lab_hours: float, days: float) -> float:
        # While in use the idle items keep accruing too; in-use items only for lab hours.
        return self.hourly * lab_hours + self.daily_idle * days


def _vm_price(region: Mapping[str, Any], vm_size: str, region_name: str) -> float:
    prices = region["vm_hour"]
    if vm_size not in prices:
        raise PriceError(
            f"no price for VM size '{vm_size}' in region '{region_name}'; known sizes: "
            f"{', '.join(sorted(prices))}. Add it with "
            f"`python -m classroom prices --region {region_name} --vm-size {vm_size}`."
        )
    return float(prices[vm_size])


def estimate_student(resources: Iterable[Any], prices: PriceTable, region_name: str) -> StudentCost:
    """Cost of one student's declared resources (objects with ``.type`` and ``.inputs``)."""
    region = prices.region(region_name)
    cost = StudentCost()
    storage_accounts = 0
    for r in resources:
        t, i = r.type, r.inputs
        if t == "azure-native:synapse:BigDataPool":
            nodes = int((i.get("autoScale") or {}).get("minNodeCount") or i.get("nodeCount") or 0)
            vcores = SPARK_NODE_VCORES.get(i.get("nodeSize", ""), 0) * nodes
            cost.in_use_per_hour.append(
                CostLine(
                    f"Spark pool {i.get('bigDataPoolName')}: {nodes} x {i.get('nodeSize')} ({vcores} vCores)",
                    vcores * float(region["spark_vcore_hour"]),
                )
            )
        elif t == "azure-native:synapse:SqlPool":
            sku = (i.get("sku") or {}).get("name", "DW100c")
            units = int(sku.upper().removeprefix("DW").removesuffix("C")) / 100
            cost.in_use_per_hour.append(
                CostLine(
                    f"dedicated SQL pool {i.get('sqlPoolName')}: {sku} running",
                    units * float(region["sql_dw100c_hour"]),
                )
            )
            cost.idle_per_day.append(
                CostLine(
                    f"dedicated SQL pool storage (paused, ~{IDLE_SQL_STORAGE_TB} TB)",
                    IDLE_SQL_STORAGE_TB * float(region["sql_storage_tb_month"]) / DAYS_PER_MONTH,
                )
            )
        elif t == "azure-native:machinelearningservices:Compute":
            props = (i.get("properties") or {}).get("properties") or {}
            vm = props.get("vmSize", "")
            scale = props.get("scaleSettings") or {}
            nodes = int(scale.get("maxNodeCount") or 0)
            cost.in_use_per_hour.append(
                CostLine(
                    f"AutoML compute {i.get('computeName')}: {nodes} x {vm} (training)",
                    nodes * _vm_price(region, vm, region_name),
                )
            )
            idle_nodes = int(scale.get("minNodeCount") or 0)
            if idle_nodes:
                cost.idle_per_day.append(
                    CostLine(
                        f"AutoML compute: {idle_nodes} x {vm} kept running",
                        idle_nodes * 24 * _vm_price(region, vm, region_name),
                    )
                )
        elif t == "azure-native:storage:StorageAccount":
            storage_accounts += 1
        elif t == "azure-native:monitor:DiagnosticSetting":
            cost.progress_log_mb_per_hour += progress_log_mb_per_hour(i)
    if storage_accounts:
        cost.idle_per_day.append(
            CostLine(
                f"{storage_accounts} storage accounts (~{IDLE_STORAGE_GB_PER_ACCOUNT:g} GB each)",
                storage_accounts
                * IDLE_STORAGE_GB_PER_ACCOUNT
                * float(region["storage_gb_month"])
                / DAYS_PER_MONTH,
            )
        )
    cost.log_price_per_gb = float(region["log_analytics_gb"])
    if cost.progress_log_mb_per_hour:
        cost.in_use_per_hour.append(
            CostLine(
                f"lab-progress logs into Log Analytics (~{cost.progress_log_mb_per_hour:.2f} MB "
                "per lab hour, Analytics Logs pay-as-you-go)",
                cost.progress_log_mb_per_hour * 1e6 / BYTES_PER_GB * cost.log_price_per_gb,
            )
        )
    cost.idle_per_day.append(
        CostLine(
            f"Log Analytics (~{IDLE_LOG_GB_PER_DAY} GB/day)",
            IDLE_LOG_GB_PER_DAY * float(region["log_analytics_gb"]),
        )
    )
    return cost


def progress_log_mb_per_hour(setting_inputs: Mapping[str, Any]) -> float:
    """MB (10^6 bytes) per lab hour that one diagnostic setting's enabled categories send.

    A category without an assumption counts as the largest one: a new category the
    program sends is never estimated at zero.
    """
    largest = max(rows * size for rows, size in PROGRESS_LOG_ROWS_PER_LAB_HOUR.values())
    total = 0
    for log in setting_inputs.get("logs") or []:
        if not log.get("enabled", True):
            continue
        rows_size = PROGRESS_LOG_ROWS_PER_LAB_HOUR.get(str(log.get("category")))
        total += rows_size[0] * rows_size[1] if rows_size else largest
    return total / 1e6
