"""python -m classroom prices (classroom/planning/update_prices.py) against a fake Retail Prices API on loopback (real HTTP, paging)."""

from __future__ import annotations

import json
import re
import shutil
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from classroom.__main__ import main as classroom_main
from tests.conftest import ROOT

ITEMS = [
    # Synapse: Spark memory optimized, a compute optimized decoy, DW100c, DW200c decoy, storage
    {
        "type": "Consumption",
        "productName": "Azure Synapse Analytics Serverless Apache Spark Pool - Memory Optimized",
        "meterName": "vCore",
        "skuName": "vCore",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.17,
        "serviceName": "Azure Synapse Analytics",
    },
    {
        "type": "Consumption",
        "productName": "Azure Synapse Analytics Serverless Apache Spark Pool - Compute Optimized",
        "meterName": "vCore",
        "skuName": "vCore",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.12,
        "serviceName": "Azure Synapse Analytics",
    },
    {
        "type": "Reservation",
        "productName": "Azure Synapse Analytics Dedicated SQL Pool",
        "skuName": "DW100c",
        "meterName": "100 DWUs",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.5,
        "serviceName": "Azure Synapse Analytics",
    },
    {
        "type": "Consumption",
        "productName": "Azure Synapse Analytics Dedicated SQL Pool",
        "skuName": "DW100c",
        "meterName": "100 DWUs",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 1.51,
        "serviceName": "Azure Synapse Analytics",
    },
    {
        "type": "Consumption",
        "productName": "Azure Synapse Analytics Dedicated SQL Pool",
        "skuName": "DW200c",
        "meterName": "100 DWUs",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 3.02,
        "serviceName": "Azure Synapse Analytics",
    },
    {
        "type": "Consumption",
        "productName": "Azure Synapse Analytics Dedicated SQL Pool Storage",
        "skuName": "Standard",
        "meterName": "Standard Data Stored",
        "unitOfMeasure": "1 TB/Month",
        "retailPrice": 26.0,
        "serviceName": "Azure Synapse Analytics",
    },
]
VM_ITEMS = [
    {
        "type": "Consumption",
        "productName": "Virtual Machines DSv2 Series Windows",
        "skuName": "DS3 v2",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.6,
    },
    {
        "type": "Consumption",
        "productName": "Virtual Machines DSv2 Series",
        "skuName": "DS3 v2 Spot",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.05,
    },
    {
        "type": "Consumption",
        "productName": "Virtual Machines DSv2 Series",
        "skuName": "DS3 v2",
        "unitOfMeasure": "1 Hour",
        "retailPrice": 0.344,
    },
]
STORAGE_ITEMS = [
    {
        "type": "Consumption",
        "productName": "General Block Blob v2 Hierarchical Namespace",
        "skuName": "Hot LRS",
        "meterName": "Hot LRS Data Stored",
        "unitOfMeasure": "1 GB/Month",
        "retailPrice": 0.0216,
        "tierMinimumUnits": 0,
    },
    {
        "type": "Consumption",
        "productName": "General Block Blob v2 Hierarchical Namespace",
        "skuName": "Hot LRS",
        "meterName": "Hot LRS Data Stored",
        "unitOfMeasure": "1 GB/Month",
        "retailPrice": 0.02,
        "tierMinimumUnits": 51200,
    },
]
LOG_ITEMS = [
    # Tiered as the API lists it: free up to 5 GB a month, then the price.
    {
        "type": "Consumption",
        "productName": "Log Analytics",
        "skuName": "Analytics Logs",
        "meterName": "Analytics Logs Data Ingestion",
        "unitOfMeasure": "1 GB",
        "tierMinimumUnits": 0,
        "retailPrice": 0,
    },
    {
        "type": "Consumption",
        "productName": "Log Analytics",
        "skuName": "Analytics Logs",
        "meterName": "Analytics Logs Data Ingestion",
        "unitOfMeasure": "1 GB",
        "tierMinimumUnits": 5,
        "retailPrice": 2.99,
    },
    # Decoys: cheaper table plans the lab's tables are not on.
    {
        "type": "Consumption",
        "productName": "Azure Monitor",
        "skuName": "Basic Logs",
        "meterName": "Basic Logs Data Ingestion",
        "unitOfMeasure": "1 GB",
        "retailPrice": 0.65,
    },
    {
        "type": "Consumption",
        "productName": "Azure Monitor",
        "skuName": "Auxiliary Logs",
        "meterName": "Auxiliary Logs Data Ingestion",
        "unitOfMeasure": "1 GB",
        "retailPrice": 0.065,
    },
]


class FakeApi(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        flt = query["$filter"][0]
        page = int(query.get("page", ["0"])[0])
        FakeApi.requests.append({"filter": flt, "currency": query["currencyCode"][0], "page": page})
        if "Synapse" in flt:
            items = ITEMS
        elif "Virtual Machines" in flt:
            items = VM_ITEMS
        elif "Storage" in flt:
            items = STORAGE_ITEMS
        else:
            items = LOG_ITEMS
        # Two items a page, to exercise NextPageLink.
        chunk = items[page * 2 : (page + 1) * 2]
        next_link = None
        if (page + 1) * 2 < len(items):
            next_link = (
                f"http://127.0.0.1:{self.server.server_port}/api/retail/prices?"
                + urllib.parse.urlencode({"currencyCode": "USD", "$filter": flt, "page": page + 1})
            )
        body = json.dumps({"Items": chunk, "NextPageLink": next_link}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def api():
    FakeApi.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/api/retail/prices"
    server.shutdown()


def test_refresh_picks_pay_as_you_go_meters_across_pages(api, tmp_path, capsys):
    table = tmp_path / "prices.json"
    shutil.copy(ROOT / "classroom" / "planning" / "prices.json", table)
    assert (
        classroom_main(
            [
                "prices",
                "--region",
                "francecentral",
                "--vm-size",
                "Standard_DS3_v2",
                "--file",
                str(table),
                "--api",
                api,
            ]
        )
        == 0
    )
    entry = json.loads(table.read_text())["regions"]["francecentral"]
    assert entry["spark_vcore_hour"] == 0.17
    assert entry["sql_dw100c_hour"] == 1.51
    assert entry["sql_storage_tb_month"] == 26.0
    assert entry["vm_hour"] == {"Standard_DS3_v2": 0.344}
    assert entry["storage_gb_month"] == 0.0216
    assert entry["log_analytics_gb"] == 2.99
    assert entry["method"].startswith("read from the Azure Retail Prices API")
    assert any(r["page"] == 2 for r in FakeApi.requests)  # followed NextPageLink
    assert all("armRegionName eq 'francecentral'" in r["filter"] for r in FakeApi.requests)
    # the other regions are untouched
    assert (
        json.loads(table.read_text())["regions"]["westeurope"]
        == json.loads((ROOT / "classroom" / "planning" / "prices.json").read_text())["regions"][
            "westeurope"
        ]
    )


def test_missing_meter_is_a_clear_error(api, tmp_path, capsys, monkeypatch):
    table = tmp_path / "prices.json"
    shutil.copy(ROOT / "classroom" / "planning" / "prices.json", table)
    monkeypatch.setitem(globals(), "LOG_ITEMS", [])  # the fake API now has no Log Analytics meter
    assert (
        classroom_main(
            [
                "prices",
                "--region",
                "francecentral",
                "--vm-size",
                "Standard_DS3_v2",
                "--file",
                str(table),
                "--api",
                api,
            ]
        )
        == 1
    )
    assert "no pay-as-you-go price found for Log Analytics ingestion GB" in capsys.readouterr().err
    assert "francecentral" not in json.loads(table.read_text())["regions"]  # nothing half-written


def test_the_price_tables_method_names_a_command_that_exists():
    """prices.json says how it was made and how to refresh it, with a command that parses."""
    import shlex

    from classroom.__main__ import build_parser
    from classroom.planning.costs import PRICES_FILE

    table = json.loads(PRICES_FILE.read_text())
    method = table["method"]
    assert method.startswith("compiled by hand")
    commands = re.findall(r"`(python -m classroom [^`]+)`", method)
    assert commands, method
    argv = shlex.split(commands[0].replace("<region>", "westeurope"))[3:]
    assert build_parser().parse_args(argv).command == "prices"
    assert "scripts/" not in method
    # "compiled by hand" is true: no region has been refreshed (a refreshed entry carries its method).
    assert all("method" not in entry for entry in table["regions"].values())
