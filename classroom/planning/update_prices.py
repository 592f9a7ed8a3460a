"""Refresh one region's entry of classroom/prices.json from the Azure Retail Prices API.

    python -m classroom prices --region westeurope [--vm-size Standard_DS3_v2 ...]

Reads the public, unauthenticated API (pay-as-you-go list prices, following
NextPageLink), picks the meters the cost estimate uses and rewrites that region's
entry, the currency and read_on. Needs internet access; nothing else in the
project does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().with_name("prices.json")
API = "https://prices.azure.com/api/retail/prices"
DEFAULT_VM_SIZES = ("Standard_DS3_v2", "Standard_DS11_v2", "Standard_D4s_v3", "Standard_E4ds_v4")
MAX_PAGES = 50
ANALYTICS_LOGS_INGESTION_METERS = ("Analytics Logs Data Ingestion", "Pay-as-you-go Data Ingestion")


class PriceLookupError(RuntimeError):
    pass


def fetch_items(
    api: str, odata_filter: str, currency: str, timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Every item matching ``odata_filter``, across pages."""
    url: str | None = (
        f"{api}?{urllib.parse.urlencode({'currencyCode': currency, '$filter': odata_filter})}"
    )
    items: list[dict[str, Any]] = []
    pages = 0
    while url:
        pages += 1
        if pages > MAX_PAGES:
            raise PriceLookupError(f"more than {MAX_PAGES} pages for filter {odata_filter!r}")
        with urllib.request.urlopen(url, timeout=timeout) as response:
            page = json.load(response)
        items.extend(page.get("Items", []))
        url = page.get("NextPageLink")
    return items


def _pick(
    items: Iterable[dict[str, Any]], what: str, accept: Callable[[dict[str, Any]], bool]
) -> float:
    prices = sorted(
        float(i["retailPrice"])
        for i in items
        if i.get("type") == "Consumption"
        and "Spot" not in i.get("skuName", "")
        and "Low Priority" not in i.get("skuName", "")
        and accept(i)
    )
    if not prices:
        raise PriceLookupError(f"no pay-as-you-go price found for {what}")
    return prices[0]


def region_prices(
    region: str, vm_sizes: Iterable[str], currency: str = "USD", api: str = API
) -> dict[str, Any]:
    def items(odata_filter: str) -> list[dict[str, Any]]:
        return fetch_items(api, f"armRegionName eq '{region}' and {odata_filter}", currency)

    synapse = items("serviceName eq 'Azure Synapse Analytics'")
    entry: dict[str, Any] = {
        "spark_vcore_hour": _pick(
            synapse,
            "Synapse Spark memory-optimized vCore-hour",
            lambda i: (
                "Memory Optimized" in i.get("productName", "")
                and "Spark" in i.get("productName", "")
                and "vCore" in i.get("meterName", "")
                and i.get("unitOfMeasure") == "1 Hour"
            ),
        ),
        "sql_dw100c_hour": _pick(
            synapse,
            "dedicated SQL pool DW100c hour",
            lambda i: i.get("skuName") == "DW100c" and i.get("unitOfMeasure") == "1 Hour",
        ),
        "sql_storage_tb_month": _pick(
            synapse,
            "dedicated SQL pool storage",
            lambda i: (
                "Data Stored" in i.get("meterName", "")
                and "1 TB/Month" in i.get("unitOfMeasure", "")
                and "Dedicated" in i.get("productName", "") + i.get("skuName", "")
            ),
        ),
    }
    entry["vm_hour"] = {}
    for size in vm_sizes:
        vms = items(f"serviceName eq 'Virtual Machines' and armSkuName eq '{size}'")
        entry["vm_hour"][size] = _pick(
            vms,
            f"VM {size} (Linux)",
            lambda i: (
                "Windows" not in i.get("productName", "") and i.get("unitOfMeasure") == "1 Hour"
            ),
        )
    storage = items("serviceName eq 'Storage' and skuName eq 'Hot LRS'")
    entry["storage_gb_month"] = _pick(
        storage,
        "Hot LRS block blob GB-month",
        lambda i: (
            i.get("meterName") == "Hot LRS Data Stored"
            and "Hierarchical Namespace" in i.get("productName", "")
            and i.get("tierMinimumUnits", 0) == 0
        ),
    )
    logs = items("serviceName eq 'Log Analytics'")
    # Analytics Logs, pay-as-you-go: the meter "Analytics Logs Data Ingestion" (called
    # "Pay-as-you-go Data Ingestion" in Azure Monitor docs, cost-meters.md). The API lists
    # it in tiers: 0 from 0 GB (the free monthly grant), the price from tierMinimumUnits 5.
    # Not Basic or Auxiliary Logs (cheaper meters of other table plans, which the lab's
    # tables are not on), nor the legacy "Data Analyzed" tiers.
    entry["log_analytics_gb"] = _pick(
        logs,
        "Log Analytics ingestion GB",
        lambda i: (
            i.get("meterName") in ANALYTICS_LOGS_INGESTION_METERS
            and i.get("unitOfMeasure") == "1 GB"
            and float(i.get("retailPrice", 0)) > 0
        ),
    )
    return entry


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prices",
        help="refresh a region's prices from the Azure Retail Prices API",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument(
        "--region", required=True, help="the Azure region whose prices to read, e.g. westeurope"
    )
    parser.add_argument(
        "--vm-size",
        action="append",
        dest="vm_sizes",
        metavar="SIZE",
        help="an Azure ML VM size to price (repeat for several; default: the sizes the table "
        "already has for the region, and the lab's)",
    )
    parser.add_argument(
        "--currency", default="USD", help="the table's currency (every region is in one)"
    )
    parser.add_argument(
        "--file", type=Path, default=PRICES_FILE, metavar="FILE", help="the price table to rewrite"
    )
    parser.add_argument("--api", default=API, help=argparse.SUPPRESS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    table = json.loads(args.file.read_text())
    if args.currency != table["currency"]:
        print(
            f"error: the table is in {table['currency']}; refresh every region to change currency",
            file=sys.stderr,
        )
        return 2
    vm_sizes = args.vm_sizes or sorted(
        set(DEFAULT_VM_SIZES) | set(table["regions"].get(args.region, {}).get("vm_hour", {}))
    )
    try:
        entry = region_prices(args.region, vm_sizes, args.currency, args.api)
    except (PriceLookupError, OSError) as exc:
        print(f"error: could not read prices for {args.region}: {exc}", file=sys.stderr)
        return 1
    # Per-region provenance: this entry was read from the API today.
    entry["read_on"] = dt.date.today().isoformat()
    entry["method"] = "read from the Azure Retail Prices API by python -m classroom prices"
    table["regions"][args.region] = entry
    args.file.write_text(json.dumps(table, indent=2) + "\n")
    print(f"{args.region}: {json.dumps(entry)}")
    return 0
