"""The quotas a class needs per subscription, from what the program declares (offline).

Azure counts the lab's capacity against per-subscription limits the program
cannot raise:

- Azure ML compute: dedicated vCPUs per VM family per region per subscription
  (Azure ML "Manage and increase quotas"); everyone training at once needs
  students x max nodes x vCPUs of the cluster's VM size, and jobs beyond the quota
  wait in the queue;
- Synapse: workspaces per subscription (2 on Pay-As-You-Go, Free Trial, Azure Pass and
  Azure for Students offers, else 20 per region) and Spark vCores per workspace (12 /
  50 Memory Optimized cores by default) (Azure docs, "Azure Synapse limits",
  includes/synapse-analytics-limits.md);
- dedicated SQL pools: DWU (DW100c is 100 DWU each).

:func:`class_quotas` adds up each student's declared resources per subscription;
``python -m classroom plan`` prints the figures and ``preflight`` compares them with
what Azure reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.azure_namespaces import vm_size

from .costs import SPARK_NODE_VCORES


@dataclass
class SubscriptionQuota:
    """What one subscription's students need at most at once."""

    subscription: str
    students: int = 0
    synapse_workspaces: int = 0
    spark_vcores_per_workspace: int = 0  # the largest pool at its autoscale maximum
    spark_vcores: int = 0  # every pool at its maximum
    dwu: int = 0
    # VM family (as Azure ML names it, or "unknown: <size>") -> dedicated vCPUs
    aml_vcpus: dict[str, int] = field(default_factory=dict)
    # VM size -> (family, vCPUs per node, nodes)
    aml_sizes: dict[str, tuple[str, int, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "subscription": self.subscription,
            "students": self.students,
            "synapseWorkspaces": self.synapse_workspaces,
            "sparkVCoresPerWorkspace": self.spark_vcores_per_workspace,
            "sparkVCores": self.spark_vcores,
            "dedicatedSqlDwu": self.dwu,
            "amlDedicatedVCpusByFamily": dict(sorted(self.aml_vcpus.items())),
            "amlNodes": {
                size: {"family": family, "vCpusPerNode": vcpus, "nodes": nodes}
                for size, (family, vcpus, nodes) in sorted(self.aml_sizes.items())
            },
        }


def _spark_max_vcores(inputs: dict[str, Any]) -> int:
    auto = inputs.get("autoScale") or {}
    nodes = int(
        (auto.get("maxNodeCount") if auto.get("enabled") else None) or inputs.get("nodeCount") or 0
    )
    return SPARK_NODE_VCORES.get(str(inputs.get("nodeSize", "")), 0) * nodes


def _dwu(inputs: dict[str, Any]) -> int:
    sku = str((inputs.get("sku") or {}).get("name") or "DW100c")
    return int(sku.upper().removeprefix("DW").removesuffix("C") or 100)


def class_quotas(students: Iterable[tuple[str, Sequence[Any]]]) -> list[SubscriptionQuota]:
    """Per subscription: ``students`` is (subscription, declared resources) per student."""
    found: dict[str, SubscriptionQuota] = {}
    for subscription, resources in students:
        q = found.setdefault(subscription, SubscriptionQuota(subscription))
        q.students += 1
        for r in resources:
            inputs = r.inputs
            if r.type == "azure-native:synapse:Workspace":
                q.synapse_workspaces += 1
            elif r.type == "azure-native:synapse:BigDataPool":
                vcores = _spark_max_vcores(inputs)
                q.spark_vcores += vcores
                q.spark_vcores_per_workspace = max(q.spark_vcores_per_workspace, vcores)
            elif r.type == "azure-native:synapse:SqlPool":
                q.dwu += _dwu(inputs)
            elif r.type == "azure-native:machinelearningservices:Compute":
                props = (inputs.get("properties") or {}).get("properties") or {}
                size = str(props.get("vmSize", ""))
                nodes = int((props.get("scaleSettings") or {}).get("maxNodeCount") or 0)
                known = vm_size(size)
                family = known.family if known else f"unknown: {size}"
                vcpus = known.vcpus if known else 0
                q.aml_vcpus[family] = q.aml_vcpus.get(family, 0) + vcpus * nodes
                _, _, before = q.aml_sizes.get(size, (family, vcpus, 0))
                q.aml_sizes[size] = (family, vcpus, before + nodes)
    return sorted(found.values(), key=lambda q: q.subscription)


def plural(n: float, word: str) -> str:
    """ "1 day", "2 days", "1.5 days": the count and the word, in the plural unless it is one."""
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


def render_quotas(quotas: Sequence[dict[str, Any]]) -> list[str]:
    """Text lines of :meth:`SubscriptionQuota.as_dict` values (the plan's JSON ``quotas``)."""
    lines = ["Quotas the class needs (everyone working at once), per subscription:"]
    for q in quotas:
        lines.append(f"  subscription {q['subscription']}: {plural(q['students'], 'student')}")
        for size, node in q["amlNodes"].items():
            if node["vCpusPerNode"]:
                lines.append(
                    f"    Azure ML dedicated vCPUs, {node['family']}: "
                    f"{q['amlDedicatedVCpusByFamily'][node['family']]} ({node['nodes']} nodes of "
                    f"{size}, {node['vCpusPerNode']} vCPUs each)"
                )
            else:
                lines.append(
                    f"    Azure ML dedicated vCPUs for {size}: {node['nodes']} nodes, vCPUs unknown "
                    "offline (`python -m classroom preflight` reads them from Azure)"
                )
        lines += [
            f"    Synapse workspaces: {q['synapseWorkspaces']}",
            f"    Spark vCores: {q['sparkVCoresPerWorkspace']} per workspace, {q['sparkVCores']} in all",
            f"    dedicated SQL pool DWU: {q['dedicatedSqlDwu']}",
        ]
    return lines
