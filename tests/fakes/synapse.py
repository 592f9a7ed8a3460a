"""A fake Synapse data plane (and the ARM calls the lab makes) on 127.0.0.1 over HTTPS.

It answers like the service: artifact PUTs are long-running (202 + Location, or
202 + Operation-Location, or a plain 200, as ``lro`` says), GETs of missing
artifacts are 404, DELETEs are 200/202 (404 when missing), role assignments are
plain PUT/DELETE, and the SQL pool ``POST .../pause`` is an ARM long-running
operation. The teardown routes answer like ARM too: an Azure ML or Log Analytics
workspace DELETE is soft (kept in ``soft_deleted``) unless it carries
``forceToPurge=true`` / ``force=true`` (then it lands in ``purged``); a Key Vault
DELETE moves the vault to the deleted vaults, whose ``POST .../purge`` purges it;
``delete_vault(..., live_gets=N)`` models the vault that is still visible for a
while after its delete. Every request is recorded (method, path, query, JSON body, headers)
and faults can be injected per method and path pattern: statuses (429 with
Retry-After, 5xx, 403 with a firewall or RBAC body), dropped connections (the
socket is closed with no response, before or after the request took effect) and
slow answers (for client timeouts).

The TLS certificate is generated here with ``cryptography`` (a throwaway CA and a
leaf for 127.0.0.1); tests make the client trust it through REQUESTS_CA_BUNDLE.
Test helpers live here too: :class:`FakeCredential` and :func:`to_wire`.
"""

from __future__ import annotations

import sys
from pathlib import Path as _Path

# The project root (holding components/) must be importable however pytest is started.
if str(_Path(__file__).resolve().parents[2]) not in sys.path:
    sys.path.insert(0, str(_Path(__file__).resolve().parents[2]))

import contextlib
import datetime
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from azure.core.credentials import AccessToken
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DATA_PLANE_API_VERSION = "2020-12-01"
ARM_API_VERSION = "2021-06-01"
# The teardown routes (ARM resource provider namespace, lower case) and their API versions.
TEARDOWN_API_VERSIONS = {
    "microsoft.machinelearningservices": "2025-06-01",
    "microsoft.operationalinsights": "2023-09-01",
    "microsoft.keyvault": "2023-07-01",
}
# The query flag that makes a DELETE permanent, per namespace (Key Vault purges with a POST instead).
PERMANENT_DELETE_FLAGS = {
    "microsoft.machinelearningservices": "forceToPurge",
    "microsoft.operationalinsights": "force",
}
# Artifact names (notebooks, SQL scripts, linked services, pipelines, triggers): the REST spec's
# rule for an artifact's new name (azure-rest-api-specs specification/synapse/data-plane/
# Microsoft.Synapse/stable/2020-12-01/artifacts.json, definitions.ArtifactRenameRequest
# .properties.newName, and the linkedServiceName/pipelineName/triggerName parameters: pattern
# ^[A-Za-z0-9_][^<>*#.%&:\\+?/]*$, length 1-260). Stricter than sure for a notebook or SQL
# script PUT, whose name parameter the spec leaves without a pattern.
ARTIFACT_NAME = re.compile(r"^[A-Za-z0-9_][^<>*#.%&:\\+?/]*$")
ARTIFACT_NAME_MAX = 260
SYNAPSE_TOKEN = "fake-token-for-dev.azuresynapse.net"
ARM_TOKEN = "fake-token-for-management.azure.com"

FIREWALL_403_BODY = {
    "error": {
        "code": "ClientIpAddressNotAuthorized",
        "message": "Client Ip address : 203.0.113.7",
    }
}
RBAC_403_BODY = {
    "error": {
        "code": "Unauthorized",
        "message": (
            "The principal '11111111-2222-3333-4444-555555555555' does not have the required Synapse RBAC "
            "permission to perform this action. Required permission: Action: "
            "Microsoft.Synapse/workspaces/notebooks/write, Scope: workspaces/synapsetest01."
        ),
    }
}
ARM_403_BODY = {
    "error": {
        "code": "AuthorizationFailed",
        "message": "The client does not have authorization to perform action 'Microsoft.Synapse/workspaces/sqlPools/pause/action'.",
    }
}


# ----------------------------------------------------------------------------- TLS


def make_tls_files(directory: Path) -> tuple[str, str, str]:
    """(ca.pem, server.pem, server.key) for 127.0.0.1 / localhost, valid for a day."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-synapse test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = (
        directory / "ca.pem",
        directory / "server.pem",
        directory / "server.key",
    )
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(ca_file), str(cert_file), str(key_file)


# ----------------------------------------------------------------------------- recording and faults


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    fault: str | None = None

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


@dataclass
class Fault:
    method: str | None
    pattern: re.Pattern
    count: int
    kind: str  # "status" | "drop" | "delay"
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    after: bool = False  # let the request take effect first (the answer is what gets lost)
    delay: float = 0.0
    hits: int = 0

    def label(self) -> str:
        return f"{self.kind}:{self.status}" if self.kind == "status" else self.kind


@dataclass
class Operation:
    remaining: int
    final_status: int
    final_body: Any
    on_done: Any = None
    failed: bool = False


class FakeSynapse:
    """The fake service. Use as a context manager or call start()/stop()."""

    COLLECTIONS = ("notebooks", "linkedservices", "sqlScripts", "pipelines", "triggers")

    def __init__(self, tls_files: tuple[str, str, str], lro: str = "location", lro_polls: int = 1):
        self.ca_file, self._cert_file, self._key_file = tls_files
        self.lro = lro  # "location" | "async" | "sync"
        self.lro_polls = lro_polls
        self.arm_lro = "async"  # "async" | "location"
        self.delete_missing_status = 404
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.artifacts: dict[str, dict[str, Any]] = {c: {} for c in self.COLLECTIONS}
        self.role_assignments: dict[str, dict[str, Any]] = {}
        self.sql_pools: dict[str, dict[str, Any]] = {}
        self.pipeline_runs: list[dict[str, Any]] = []  # as queryPipelineRuns returns them
        self.operations: dict[str, Operation] = {}
        self.faults: list[Fault] = []
        # Teardown routes: live ARM resources, soft-deleted ones and what was permanently removed.
        self.arm_resources: dict[str, dict[str, Any]] = {}  # lower-case id -> resource
        self.soft_deleted: dict[
            str, dict[str, Any]
        ] = {}  # lower-case id -> resource (ML / Log Analytics)
        self.deleted_vaults: dict[
            str, dict[str, Any]
        ] = {}  # lower-case deletedVaults path -> deleted vault
        self.vaults_being_deleted: dict[
            str, int
        ] = {}  # lower-case vault id -> live GETs still answered 200
        self.purged: list[str] = []  # ids (or deletedVaults paths) removed for good, in order
        self.arm_delete_mode = "lro"  # "lro" (202, polled as arm_lro says) | "sync" (200)
        self.arm_delete_missing_status = 404  # some services answer 204 for a DELETE of nothing
        self.arm_operations_fail = (
            0  # the next N teardown operations end "Failed" (and change nothing)
        )
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0  # chosen by the first start; a restart listens on the same address

    # -- lifecycle
    def start(self) -> FakeSynapse:
        """Listen on 127.0.0.1 (the port of an earlier start, if any: a workspace re-created
        under the same name has the same endpoint). Between stop() and start() the port
        refuses connections, as an address with nothing behind it does."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self._cert_file, self._key_file)
        handler = type("Handler", (_Handler,), {"fake": self})
        httpd = ThreadingHTTPServer(("127.0.0.1", self._port), handler)
        self._port = httpd.server_address[1]
        httpd.daemon_threads = True
        httpd.socket = context.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        httpd.handle_error = lambda request, address: (
            None
        )  # dropped / timed-out sockets are expected
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeSynapse:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The address (also while stopped: then it refuses connections)."""
        assert self._port, "server never started"
        return f"https://127.0.0.1:{self._port}"

    # -- test controls
    def fail(
        self,
        method: str | None,
        pattern: str,
        *,
        count: int = 1,
        status: int = 500,
        body: Any = None,
        headers: dict[str, str] | None = None,
        drop: bool = False,
        delay: float = 0.0,
        after: bool = False,
    ) -> Fault:
        """Answer the next ``count`` matching requests with a fault instead of normally."""
        kind = "drop" if drop else "delay" if delay else "status"
        fault = Fault(
            method=method.upper() if method else None,
            pattern=re.compile(pattern),
            count=count,
            kind=kind,
            status=status,
            body=body
            if body is not None
            else {"error": {"code": f"Fake{status}", "message": "injected fault"}},
            headers=dict(headers or {}),
            after=after,
            delay=delay,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def add_sql_pool(self, pool_id: str, status: str = "Online") -> None:
        with self.lock:
            self.sql_pools[pool_id.lower()] = {"id": pool_id, "status": status}

    def pool_status(self, pool_id: str) -> str:
        with self.lock:
            return self.sql_pools[pool_id.lower()]["status"]

    # -- what a student (or the portal) does to the workspace
    def studio_save(
        self, collection: str, name: str, *, cell: int | None = None, text: str | None = None
    ) -> None:
        """Save an artifact as Synapse Studio does, optionally with new text.

        Studio rewrites fields of its own when it saves a notebook: it records the
        attached pool under ``metadata.a365ComputeOptions`` (with
        ``automaticScaleJobs``) and gives every cell Studio's cell metadata
        (``jupyter``/``nteract``), outputs and execution counts after a run. Tools
        that compare Synapse artifacts ignore exactly those paths
        (``properties.metadata.a365ComputeOptions``, ``properties.cells.N.metadata``,
        ``properties.folder``, ``properties.bigDataPool``: public deployment tools for
        Synapse, not a Microsoft document), which is the evidence for them; a GET of a
        notebook carries outputs and execution counts (REST spec example
        azure-rest-api-specs specification/synapse/data-plane/Microsoft.Synapse/stable/
        2020-12-01/examples/Notebooks_Get.json). With ``text``: cell ``cell``
        (notebooks) or the query (SQL scripts) is replaced, as a student's edit, as a
        list of lines (how Studio stores ``source``, the same example); without, only
        Studio's own fields change (a run).
        """
        with self.lock:
            item = self.artifacts[collection][name]
            properties = item["properties"]
            if collection == "notebooks":
                pool = (properties.get("bigDataPool") or {}).get("referenceName", "pool")
                properties.setdefault("metadata", {})["a365ComputeOptions"] = {
                    "id": f"/subscriptions/fake/resourceGroups/fake/providers/Microsoft.Synapse/workspaces/fake/bigDataPools/{pool}",
                    "name": pool,
                    "type": "Spark",
                    "automaticScaleJobs": True,
                }
                for index, each in enumerate(properties.get("cells") or []):
                    each["metadata"] = {
                        **(each.get("metadata") or {}),
                        "jupyter": {"source_hidden": False, "outputs_hidden": False},
                        "nteract": {"transient": {"deleting": False}},
                    }
                    if each.get("cell_type") == "code":
                        each["execution_count"] = index + 1
                        each["outputs"] = [
                            {"output_type": "stream", "name": "stdout", "text": ["ran\n"]}
                        ]
                    if text is not None and index == cell:
                        each["source"] = text.splitlines(keepends=True)
            elif text is not None:
                properties["content"]["query"] = text
            item["etag"] = uuid.uuid4().hex

    def delete_workspace(self) -> None:
        """The workspace is deleted and re-created empty: every artifact and role answers 404.

        What the address of a deleted workspace that is not re-created answers (a 404,
        or no DNS name at all) is not documented; docs/pilot-checklist.md says so.
        """
        with self.lock:
            for store in self.artifacts.values():
                store.clear()
            self.role_assignments.clear()

    # -- teardown routes: test controls
    def add_arm_resource(self, resource_id: str, location: str = "westeurope") -> None:
        """A live ML workspace, Log Analytics workspace or Key Vault (any ARM id the routes know)."""
        with self.lock:
            self.arm_resources[resource_id.lower()] = {
                "id": resource_id,
                "name": resource_id.rsplit("/", 1)[-1],
                "location": location,
                "properties": {"provisioningState": "Succeeded"},
            }

    def arm_exists(self, resource_id: str) -> bool:
        with self.lock:
            return resource_id.lower() in self.arm_resources

    def delete_vault(self, vault_id: str, live_gets: int = 0) -> None:
        """What azure-native's vault DELETE does: soft-delete it. With ``live_gets`` the
        vault stays visible (GET 200, not yet among the deleted vaults) for that many GETs."""
        with self.lock:
            if live_gets > 0:
                self.vaults_being_deleted[vault_id.lower()] = live_gets
            else:
                self._soft_delete_vault(vault_id.lower())

    def _soft_delete_vault(self, key: str) -> None:
        vault = self.arm_resources.pop(key)
        self.vaults_being_deleted.pop(key, None)
        m = re.fullmatch(
            r"/subscriptions/([^/]+)/resourcegroups/[^/]+/providers/microsoft\.keyvault/vaults/([^/]+)",
            key,
        )
        assert m, key
        path = deleted_vault_path(m.group(1), vault["location"], m.group(2))
        self.deleted_vaults[path.lower()] = {
            "id": path,
            "name": vault["name"],
            "type": "Microsoft.KeyVault/deletedVaults",
            "properties": {
                "vaultId": vault["id"],
                "location": vault["location"],
                "purgeProtectionEnabled": False,
            },
        }

    def calls(self, method: str | None = None, pattern: str = "") -> list[Recorded]:
        regex = re.compile(pattern)
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and regex.search(r.path)
            ]

    def writes(self, pattern: str = "") -> list[Recorded]:
        return [r for r in self.calls(None, pattern) if r.method in ("PUT", "POST", "DELETE")]

    def reset_log(self) -> None:
        with self.lock:
            self.requests.clear()

    # -- request handling (called from handler threads)
    def _match_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if (
                    fault.hits < fault.count
                    and (fault.method in (None, method))
                    and fault.pattern.search(path)
                ):
                    fault.hits += 1
                    return fault
        return None

    def _new_operation(self, final_status: int, final_body: Any, on_done: Any = None) -> str:
        op_id = uuid.uuid4().hex
        with self.lock:
            self.operations[op_id] = Operation(self.lro_polls, final_status, final_body, on_done)
        return op_id

    def _lro_accepted(
        self,
        collection_url: str,
        final_status: int,
        final_body: Any,
        mode: str,
        on_done: Any = None,
    ) -> tuple[int, Any, dict[str, str]]:
        op_id = self._new_operation(final_status, final_body, on_done)
        location = f"{self.url}/operationResults/{op_id}?api-version={DATA_PLANE_API_VERSION}"
        headers = {"Location": location, "Retry-After": "0"}
        if mode == "async":
            # azure-core's LROBasePolling follows Operation-Location (Azure-AsyncOperation is ARM's).
            headers["Operation-Location"] = (
                f"{self.url}/operationStatus/{op_id}?api-version={DATA_PLANE_API_VERSION}"
            )
        return 202, {"status": "InProgress"} if mode == "async" else None, headers

    def handle(
        self, method: str, path: str, query: dict[str, str], body: Any, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        is_arm = path.startswith("/subscriptions/") or path.startswith("/arm")
        token = (headers.get("authorization") or "").removeprefix("Bearer ").strip()
        expected = ARM_TOKEN if is_arm else SYNAPSE_TOKEN
        if token != expected:
            return (
                401,
                {
                    "error": {
                        "code": "InvalidToken",
                        "message": f"expected a token for this audience, got {token!r}",
                    }
                },
                {},
            )

        # -- long-running operation polling (data plane and ARM)
        m = re.fullmatch(
            r"/(operationResults|operationStatus|armOperations|armOperationResults)/([0-9a-f]+)",
            path,
        )
        if m and method == "GET":
            return self._poll(m.group(1), m.group(2))

        # -- ARM: dedicated SQL pool
        m = re.fullmatch(
            r"(/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Synapse/workspaces/[^/]+/sqlPools/[^/]+)(/pause)?",
            path,
            re.I,
        )
        if m:
            if query.get("api-version") != ARM_API_VERSION:
                return (
                    400,
                    {"error": {"code": "InvalidApiVersion", "message": query.get("api-version")}},
                    {},
                )
            return self._sql_pool(method, m.group(1), bool(m.group(2)))

        # -- ARM: what teardown deletes and purges
        m = re.fullmatch(
            r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/(Microsoft\.MachineLearningServices"
            r"|Microsoft\.OperationalInsights|Microsoft\.KeyVault)/(?:workspaces|vaults)/[^/]+",
            path,
            re.I,
        )
        m_deleted = re.fullmatch(
            r"(/subscriptions/[^/]+/providers/Microsoft\.KeyVault/locations/[^/]+/deletedVaults/[^/]+)"
            r"(/purge)?",
            path,
            re.I,
        )
        if m or m_deleted:
            namespace = (m.group(1) if m else "Microsoft.KeyVault").lower()
            if query.get("api-version") != TEARDOWN_API_VERSIONS[namespace]:
                return (
                    400,
                    {
                        "error": {
                            "code": "InvalidApiVersion",
                            "message": str(query.get("api-version")),
                        }
                    },
                    {},
                )
            if m:
                return self._arm_resource(method, path, namespace, query)
            return self._deleted_vault(method, m_deleted.group(1), bool(m_deleted.group(2)))

        if query.get("api-version") != DATA_PLANE_API_VERSION:
            return (
                400,
                {"error": {"code": "InvalidApiVersion", "message": str(query.get("api-version"))}},
                {},
            )

        if path == "/roleAssignments" and method == "GET":
            return self._list_role_assignments(query)

        m = re.fullmatch(r"/roleAssignments/([^/]+)", path)
        if m:
            return self._role_assignment(method, m.group(1), body)

        if path == "/queryPipelineRuns":
            if method != "POST":
                return 405, {"error": {"code": "MethodNotAllowed", "message": method}}, {}
            with self.lock:
                return query_pipeline_runs(list(self.pipeline_runs), body)
        m = re.fullmatch(r"/triggers/([^/]+)/(start|stop)", path)
        if m and method == "POST":
            return self._trigger_state(m.group(1), m.group(2))
        m = re.fullmatch(r"/(notebooks|linkedservices|sqlScripts|pipelines|triggers)/([^/]+)", path)
        if m:
            refused = self._pipeline_rules(method, m.group(1), m.group(2), body)
            if refused:
                return 400, {"error": {"code": "BadRequest", "message": refused}}, {}
            return self._artifact(method, m.group(1), m.group(2), body)
        return 404, {"error": {"code": "NotFound", "message": f"no route for {method} {path}"}}, {}

    def _poll(self, kind: str, op_id: str) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            op = self.operations.get(op_id)
            if op is None:
                return 404, {"error": {"code": "OperationNotFound"}}, {}
            if op.remaining > 0:
                op.remaining -= 1
                if kind in ("operationStatus", "armOperations"):
                    return 200, {"status": "InProgress"}, {"Retry-After": "0"}
                return 202, None, {"Retry-After": "0", "Location": f"{self.url}/{kind}/{op_id}"}
            if op.on_done is not None:
                op.on_done()
                op.on_done = None
            if op.failed:  # as ARM reports it: the status document carries the error
                error = {"code": "InternalServerError", "message": "injected: the operation failed"}
                if kind in ("operationStatus", "armOperations"):
                    return 200, {"status": "Failed", "error": error}, {}
                return 500, {"error": error}, {}
            if kind in ("operationStatus", "armOperations"):
                return 200, {"status": "Succeeded"}, {}
            return op.final_status, op.final_body, {}

    def _artifact(
        self, method: str, collection: str, name: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        store = self.artifacts[collection]
        resource_id = f"/subscriptions/fake/resourceGroups/fake/providers/Microsoft.Synapse/workspaces/fake/{collection}/{name}"
        if method == "GET":
            with self.lock:
                item = store.get(name)
            return (
                (200, item, {})
                if item
                else (404, {"error": {"code": "NotFound", "message": f"{name} not found"}}, {})
            )
        if method == "PUT":
            if len(name) > ARTIFACT_NAME_MAX or not ARTIFACT_NAME.match(name):
                return (
                    400,
                    {"error": {"code": "BadRequest", "message": f"invalid artifact name {name!r}"}},
                    {},
                )
            problem = _validate_artifact(collection, body)
            if problem:
                return 400, {"error": {"code": "BadRequest", "message": problem}}, {}
            item = {
                "id": resource_id,
                "name": name,
                "type": f"Microsoft.Synapse/workspaces/{collection}",
                "etag": uuid.uuid4().hex,
                "properties": body["properties"],
            }
            if collection == "triggers":
                # runtimeState is read-only: a trigger saved is Stopped until started.
                item["properties"] = {**body["properties"], "runtimeState": "Stopped"}
            with self.lock:
                store[name] = item
            if self.lro == "sync":
                return 200, item, {}
            return self._lro_accepted(collection, 200, item, self.lro)
        if method == "DELETE":
            with self.lock:
                existed = store.pop(name, None) is not None
            if not existed:
                return (
                    self.delete_missing_status,
                    (
                        {"error": {"code": "NotFound", "message": f"{name} not found"}}
                        if self.delete_missing_status >= 400
                        else None
                    ),
                    {},
                )
            if self.lro == "sync":
                return 200, None, {}
            return self._lro_accepted(collection, 200, None, "location")
        return 405, {"error": {"code": "MethodNotAllowed"}}, {}

    # -- pipelines and triggers (the cost guard)
    def trigger_state(self, name: str) -> str | None:
        with self.lock:
            item = self.artifacts["triggers"].get(name)
            return None if item is None else item["properties"].get("runtimeState")

    def _pipeline_rules(self, method: str, collection: str, name: str, body: Any) -> str | None:
        """What the service refuses about pipelines and triggers (sources beside each rule)."""
        with self.lock:
            triggers = self.artifacts["triggers"]
            pipelines = self.artifacts["pipelines"]
            if collection == "triggers" and method in ("PUT", "DELETE"):
                current = triggers.get(name)
                # A started trigger cannot be changed or deleted: stop it first
                # (learn.microsoft.com/azure/data-factory/continuous-integration-delivery,
                # "Active triggers need to be stopped"; Studio's publish stops them too).
                if current and current["properties"].get("runtimeState") == "Started":
                    return f"Trigger '{name}' is in Started state; stop it before it is updated or deleted"
            if collection == "triggers" and method == "PUT":
                properties = (body or {}).get("properties") or {}
                for ref in properties.get("pipelines") or []:
                    target = (ref.get("pipelineReference") or {}).get("referenceName")
                    if target not in pipelines:
                        # References are resolved when the trigger is saved (publish validates them).
                        return (
                            f"Trigger '{name}' references pipeline '{target}', which does not exist"
                        )
                recurrence = (properties.get("typeProperties") or {}).get("recurrence") or {}
                zone = recurrence.get("timeZone", "UTC")
                for key in ("startTime", "endTime"):
                    stamp = recurrence.get(key)
                    # techcommunity "Time Zone and Daylight Saving Support for Schedule Trigger":
                    # UTC wants 'yyyy-MM-ddTHH:mm:ssZ', any other zone 'yyyy-MM-ddTHH:mm:ss'.
                    if isinstance(stamp, str) and (zone == "UTC") != stamp.endswith("Z"):
                        return (
                            f"Trigger '{name}': {key} {stamp!r} does not match timeZone {zone!r} "
                            "(UTC takes a trailing Z, other time zones a local time without one)"
                        )
                problem = _validate_model("Trigger", properties)
                if problem:
                    return problem
            if collection == "pipelines" and method == "DELETE":
                for trigger_name, trigger in triggers.items():
                    for ref in trigger["properties"].get("pipelines") or []:
                        if (ref.get("pipelineReference") or {}).get("referenceName") == name:
                            # A pipeline a trigger references cannot be deleted before the trigger.
                            return f"Pipeline '{name}' is referenced by trigger '{trigger_name}'"
            if collection == "pipelines" and method == "PUT":
                return _validate_model("PipelineResource", body)
        return None

    def _trigger_state(self, name: str, action: str) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            trigger = self.artifacts["triggers"].get(name)
            if trigger is None:
                return (
                    404,
                    {"error": {"code": "NotFound", "message": f"trigger {name} not found"}},
                    {},
                )
            if action == "start":
                for ref in trigger["properties"].get("pipelines") or []:
                    target = (ref.get("pipelineReference") or {}).get("referenceName")
                    if target not in self.artifacts["pipelines"]:
                        return (
                            400,
                            {
                                "error": {
                                    "code": "BadRequest",
                                    "message": f"pipeline {target} missing",
                                }
                            },
                            {},
                        )
            state = "Started" if action == "start" else "Stopped"

            def done() -> None:
                trigger["properties"]["runtimeState"] = state

            # The REST spec (Trigger_Start / Trigger_Stop) answers 200 only: the SDK's
            # begin_start_trigger refuses anything else (azure-synapse-artifacts 0.22,
            # operations/_trigger_operations.py, `status_code not in [200]`).
            done()
        return 200, None, {}

    def _role_assignment(
        self, method: str, assignment_id: str, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            if method == "GET":
                item = self.role_assignments.get(assignment_id)
                return (
                    (200, item, {})
                    if item
                    else (404, {"error": {"code": "RoleAssignmentNotFound"}}, {})
                )
            if method == "PUT":
                if not isinstance(body, dict) or not all(
                    body.get(k) for k in ("roleId", "principalId", "scope")
                ):
                    return (
                        400,
                        {
                            "error": {
                                "code": "BadRequest",
                                "message": "roleId, principalId and scope are required",
                            }
                        },
                        {},
                    )
                for other_id, other in self.role_assignments.items():
                    if other_id != assignment_id and (
                        other["roleDefinitionId"],
                        other["principalId"],
                        other["scope"],
                    ) == (body["roleId"], body["principalId"], body["scope"]):
                        return (
                            409,
                            {
                                "error": {
                                    "code": "RoleAssignmentAlreadyExists",
                                    "message": f"exists as {other_id}",
                                }
                            },
                            {},
                        )
                item = {
                    "id": assignment_id,
                    "roleDefinitionId": body["roleId"],
                    "principalId": body["principalId"],
                    "scope": body["scope"],
                    "principalType": body.get("principalType"),
                }
                self.role_assignments[assignment_id] = item
                return 200, item, {}
            if method == "DELETE":
                if self.role_assignments.pop(assignment_id, None) is None:
                    return 404, {"error": {"code": "RoleAssignmentNotFound"}}, {}
                return 200, None, {}
        return 405, None, {}

    def _list_role_assignments(self, query: dict[str, str]) -> tuple[int, Any, dict[str, str]]:
        """``GET /roleAssignments?roleId&principalId&scope``: ``{"count", "value"}``, filters ANDed.

        Shape as in the REST spec's example RoleAssignments_ListRoleAssignments.json
        (azure-rest-api-specs, synapse/data-plane/.../stable/2020-12-01).
        """
        wanted = {
            "roleDefinitionId": query.get("roleId"),
            "principalId": query.get("principalId"),
            "scope": query.get("scope"),
        }
        with self.lock:
            value = [
                dict(item)
                for item in self.role_assignments.values()
                if all(
                    expected is None or str(item.get(key)).lower() == expected.lower()
                    for key, expected in wanted.items()
                )
            ]
        return 200, {"count": len(value), "value": value}, {}

    def _sql_pool(self, method: str, pool_id: str, pause: bool) -> tuple[int, Any, dict[str, str]]:
        with self.lock:
            pool = self.sql_pools.get(pool_id.lower())
            if pool is None:
                return (
                    404,
                    {"error": {"code": "ResourceNotFound", "message": f"{pool_id} not found"}},
                    {},
                )
            if method == "GET" and not pause:
                # Time passes for an operation whoever asks: a GET of the pool advances it too.
                op = self.operations.get(pool.get("operation", ""))
                if op is not None and op.on_done is not None:
                    if op.remaining > 0:
                        op.remaining -= 1
                    else:
                        op.on_done()
                        op.on_done = None
                return (
                    200,
                    {
                        "id": pool["id"],
                        "name": pool_id.rsplit("/", 1)[-1],
                        "properties": {"status": pool["status"]},
                    },
                    {},
                )
            if method == "POST" and pause:
                if pool["status"] in ("Paused", "Pausing"):
                    return (
                        409,
                        {"error": {"code": "Conflict", "message": f"pool is {pool['status']}"}},
                        {},
                    )
                if pool["status"] != "Online":
                    return (
                        409,
                        {"error": {"code": "Conflict", "message": f"pool is {pool['status']}"}},
                        {},
                    )
                pool["status"] = "Pausing"

                def done() -> None:
                    pool["status"] = "Paused"

                op_id = uuid.uuid4().hex
                self.operations[op_id] = Operation(self.lro_polls, 200, None, done)
                pool["operation"] = op_id
                headers = {
                    "Location": f"{self.url}/armOperationResults/{op_id}",
                    "Retry-After": "0",
                }
                if self.arm_lro == "async":
                    headers["Azure-AsyncOperation"] = f"{self.url}/armOperations/{op_id}"
                return 202, None, headers
        return 405, None, {}

    # -- teardown routes
    def _teardown_accepted(self, effect: Any) -> tuple[int, Any, dict[str, str]]:
        """Apply ``effect`` (unless the operation is set to fail) and answer 200 or 202 + polling headers."""
        failed = self.arm_operations_fail > 0
        if failed:
            self.arm_operations_fail -= 1
        else:
            effect()  # the service acts when it accepts; the operation only reports on it
        if self.arm_delete_mode == "sync" and not failed:
            return 200, None, {}
        op_id = uuid.uuid4().hex
        self.operations[op_id] = Operation(self.lro_polls, 200, None, None, failed)
        headers = {"Location": f"{self.url}/armOperationResults/{op_id}", "Retry-After": "0"}
        if self.arm_lro == "async" or failed:
            headers["Azure-AsyncOperation"] = f"{self.url}/armOperations/{op_id}"
        return 202, None, headers

    def _arm_resource(
        self, method: str, path: str, namespace: str, query: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        key = path.lower()
        not_found = (
            404,
            {"error": {"code": "ResourceNotFound", "message": f"{path} not found"}},
            {},
        )
        with self.lock:
            if method == "GET":
                if key in self.vaults_being_deleted:
                    if self.vaults_being_deleted[key] > 0:
                        self.vaults_being_deleted[key] -= 1
                        return 200, self.arm_resources[key], {}
                    self._soft_delete_vault(key)
                item = self.arm_resources.get(key)
                return (200, item, {}) if item else not_found
            if method != "DELETE":
                return 405, None, {}
            if key not in self.arm_resources or key in self.vaults_being_deleted:
                status = self.arm_delete_missing_status
                return (status, not_found[1] if status >= 400 else None, {})
            if namespace == "microsoft.keyvault":  # synchronous soft delete, as the service does
                self._soft_delete_vault(key)
                return 200, None, {}
            flag = PERMANENT_DELETE_FLAGS[namespace]
            permanent = query.get(flag, "").lower() == "true"

            def effect() -> None:
                item = self.arm_resources.pop(key)
                if permanent:
                    self.purged.append(item["id"])
                else:
                    self.soft_deleted[key] = item

            return self._teardown_accepted(effect)

    def _deleted_vault(
        self, method: str, path: str, purge: bool
    ) -> tuple[int, Any, dict[str, str]]:
        key = path.lower()
        with self.lock:
            item = self.deleted_vaults.get(key)
            if item is None:
                return (
                    404,
                    {
                        "error": {
                            "code": "ResourceNotFound",
                            "message": f"deleted vault {path} not found",
                        }
                    },
                    {},
                )
            if method == "GET" and not purge:
                return 200, item, {}
            if method == "POST" and purge:

                def effect() -> None:
                    self.purged.append(self.deleted_vaults.pop(key)["id"])

                return self._teardown_accepted(effect)
        return 405, None, {}


def deleted_vault_path(subscription_id: str, location: str, vault_name: str) -> str:
    return f"/subscriptions/{subscription_id}/providers/Microsoft.KeyVault/locations/{location}/deletedVaults/{vault_name}"


# ----------------------------------------------------------------------------- pipeline runs

# REST spec azure-rest-api-specs specification/synapse/data-plane/Microsoft.Synapse/stable/
# 2020-12-01: artifacts.json, "/queryPipelineRuns" (POST, PipelineRun_QueryPipelineRunsByWorkspace,
# body RunFilterParameters, answer PipelineRunsQueryResponse), and entityTypes/Pipeline.json's
# RunFilterParameters (lastUpdatedAfter and lastUpdatedBefore required, date-time), RunQueryFilter
# (operand, operator, values required), RunQueryOrderBy (orderBy, order required); the enums as
# azure-synapse-artifacts 0.19 has them (models/_artifacts_client_enums.py). A pipeline run's
# status: Queued, InProgress, Succeeded, Failed, Canceling, Cancelled (PipelineRun.status).
RUN_STATUSES = ("Queued", "InProgress", "Succeeded", "Failed", "Canceling", "Cancelled")
RUN_FILTER_KEYS = {
    "continuationToken",
    "lastUpdatedAfter",
    "lastUpdatedBefore",
    "filters",
    "orderBy",
}
RUN_OPERANDS = {"PipelineName", "Status", "RunStart", "RunEnd", "RunGroupId", "LatestOnly"}
RUN_OPERATORS = {"Equals", "NotEquals", "In", "NotIn"}
RUN_ORDER_FIELDS = {"RunStart", "RunEnd", "PipelineName", "Status"}


def pipeline_run(
    pipeline: str, status: str, run_start: datetime.datetime, message: str = ""
) -> dict[str, Any]:
    """One run as the query returns it (the fields of example PipelineRuns_QueryByWorkspace.json)."""
    if status not in RUN_STATUSES:
        raise ValueError(f"a pipeline run's status is one of {RUN_STATUSES}, not {status!r}")
    ended = status in ("Succeeded", "Failed", "Cancelled")
    run_end = run_start + datetime.timedelta(seconds=95) if ended else None

    def stamp(value: datetime.datetime | None) -> str | None:
        return (
            None
            if value is None
            else value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")
        )

    return {
        "runId": str(uuid.uuid4()),
        "runGroupId": str(uuid.uuid4()),
        "isLatest": True,
        "pipelineName": pipeline,
        "parameters": {},
        "invokedBy": {
            "id": uuid.uuid4().hex,
            "name": "Pause SQL pool schedule",
            "invokedByType": "ScheduleTrigger",
        },
        "runStart": stamp(run_start),
        "runEnd": stamp(run_end),
        "durationInMs": 95000 if ended else None,
        "status": status,
        "message": message,
        "lastUpdated": stamp(run_end or run_start),
        "annotations": [],
        "runDimension": {},
    }


def _stamp(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _run_filter_problem(body: Any) -> str | None:
    """What the service refuses in a RunFilterParameters body (stricter where the spec is silent:
    unknown keys and time stamps without a zone are refused)."""
    if not isinstance(body, dict):
        return "the body must be a RunFilterParameters object"
    unknown = sorted(set(body) - RUN_FILTER_KEYS)
    if unknown:
        return f"unknown RunFilterParameters field(s): {', '.join(unknown)}"
    for key in ("lastUpdatedAfter", "lastUpdatedBefore"):
        if _stamp(body.get(key)) is None:
            return f"{key} is required: an ISO 8601 date-time with its zone"
    for item in body.get("filters") or []:
        if not isinstance(item, dict) or set(item) != {"operand", "operator", "values"}:
            return "each filter needs operand, operator and values (and nothing else)"
        if item["operand"] not in RUN_OPERANDS or item["operator"] not in RUN_OPERATORS:
            return f"filter {item['operand']!r} {item['operator']!r} is not a pipeline-run filter"
        if not isinstance(item["values"], list) or not all(
            isinstance(v, str) for v in item["values"]
        ):
            return "filter values must be a list of strings"
    for item in body.get("orderBy") or []:
        if not isinstance(item, dict) or set(item) != {"orderBy", "order"}:
            return "each orderBy needs orderBy and order (and nothing else)"
        if item["orderBy"] not in RUN_ORDER_FIELDS or item["order"] not in ("ASC", "DESC"):
            return f"orderBy {item['orderBy']!r} {item['order']!r} is not a pipeline-run order"
    return None


def query_pipeline_runs(runs: list[dict[str, Any]], body: Any) -> tuple[int, Any, dict[str, str]]:
    """POST /queryPipelineRuns over ``runs``: the runs last updated in the window that pass every
    filter, in the order asked (one page: no continuationToken)."""
    problem = _run_filter_problem(body)
    if problem:
        return 400, {"error": {"code": "BadRequest", "message": problem}}, {}
    after, before = _stamp(body["lastUpdatedAfter"]), _stamp(body["lastUpdatedBefore"])
    field_of = {"PipelineName": "pipelineName", "Status": "status", "RunGroupId": "runGroupId"}

    def passes(run: dict[str, Any]) -> bool:
        updated = _stamp(run["lastUpdated"])
        if updated is None or not (after <= updated <= before):  # type: ignore[operator]
            return False
        for item in body.get("filters") or []:
            key = field_of.get(item["operand"])
            if key is None:
                continue
            inside = run.get(key) in item["values"]
            if inside != (item["operator"] in ("Equals", "In")):
                return False
        return True

    found = [run for run in runs if passes(run)]
    for item in reversed(body.get("orderBy") or []):
        key = {
            "RunStart": "runStart",
            "RunEnd": "runEnd",
            "PipelineName": "pipelineName",
            "Status": "status",
        }[item["orderBy"]]
        found.sort(key=lambda r: r.get(key) or "", reverse=item["order"] == "DESC")
    return 200, {"value": found}, {}


def _validate_model(model: str, body: Any) -> str | None:
    """The body must deserialise into the azure-synapse-artifacts model the REST spec defines."""
    from azure.synapse.artifacts import models

    try:
        # deserialize() pops polymorphic discriminators from what it reads: give it a copy.
        getattr(models, model).deserialize(json.loads(json.dumps(body)))
    except Exception as exc:  # the SDK raises DeserializationError and friends
        return f"the body is not a valid {model}: {exc}"
    return None


def _validate_artifact(collection: str, body: Any) -> str | None:
    """What the real service would refuse (the traps the SDK lets through)."""
    if not isinstance(body, dict) or not isinstance(body.get("properties"), dict):
        return 'body must be {"properties": {...}}'
    properties = body["properties"]
    if "properties" in properties:
        return 'properties wrapped twice ({"properties": {"properties": ...}})'
    if collection == "linkedservices" and not properties.get("type"):
        return "linked service type is required"
    if collection == "notebooks":
        cells = properties.get("cells")
        if not isinstance(cells, list):
            return "notebook cells are required"
        for cell in cells:
            if not isinstance(cell.get("source"), list):
                return "cell source must be a list of lines"
    if collection == "sqlScripts" and not (properties.get("content") or {}).get("query"):
        return "SQL script content.query is required"
    return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSynapse
    protocol_version = "HTTP/1.0"

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        fake = self.fake
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        headers = {k.lower(): v for k, v in self.headers.items()}
        record = Recorded(self.command, path, query, body, headers)
        with fake.lock:
            fake.requests.append(record)
        fault = fake._match_fault(self.command, path)
        if fault is not None:
            record.fault = fault.label()
        if fault is not None and not fault.after:
            if fault.kind == "drop":
                return self._drop()
            if fault.kind == "delay":
                time.sleep(fault.delay)
            else:
                return self._send(fault.status, fault.body, fault.headers)
        status, payload, extra = fake.handle(self.command, path, query, body, headers)
        if fault is not None and fault.after:
            if fault.kind == "drop":
                return self._drop()
            if fault.kind == "delay":
                time.sleep(fault.delay)
            else:
                return self._send(fault.status, fault.body, fault.headers)
        self._send(status, payload, extra)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        data = b"" if payload is None else json.dumps(payload).encode("utf-8")
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout test)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = _serve


# ----------------------------------------------------------------------------- test helpers


class FakeCredential:
    """A TokenCredential whose token names its audience; records every scope asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []
        self.closed = 0
        self._lock = threading.Lock()

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        with self._lock:
            self.scopes.append(scopes)
        scope = scopes[0] if scopes else ""
        if scope.startswith("https://dev.azuresynapse.net"):
            token = SYNAPSE_TOKEN
        elif scope.startswith("https://management.azure.com"):
            token = ARM_TOKEN
        else:
            token = "fake-token-for-unknown-audience"
        return AccessToken(token, int(time.time()) + 3600)

    def close(self) -> None:
        self.closed += 1


def to_wire(value: Any) -> Any:
    """What the engine does to a property bag: JSON only, ints become floats, None keys vanish."""

    def convert(v: Any) -> Any:
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return float(v)
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items() if x is not None}
        if isinstance(v, list):
            return [convert(x) for x in v]
        return v

    return convert(json.loads(json.dumps(value)))


# ----------------------------------------------------------------------------- pytest fixtures
# Test modules import these names (``from tests.fakes.synapse import fake, ...``); the
# lead owns conftest.py, so they live here.
import pytest  # noqa: E402

from providers import client as _artifacts_client  # noqa: E402
from providers.client import RetrySettings  # noqa: E402

# Tiny delays so fault tests take milliseconds; bounds still small enough to hit.
FAST = RetrySettings(
    max_attempts=5,
    max_total_seconds=20.0,
    initial_delay=0.001,
    max_delay=0.005,
    polling_interval=0.001,
    connection_timeout=2.0,
    read_timeout=2.0,
)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, str]:
    return make_tls_files(tmp_path_factory.mktemp("fake-synapse-tls"))


@pytest.fixture
def credential(monkeypatch: pytest.MonkeyPatch) -> FakeCredential:
    fake_credential = FakeCredential()
    monkeypatch.setattr(_artifacts_client, "make_credential", lambda: fake_credential)
    return fake_credential


def trust_fake(monkeypatch: pytest.MonkeyPatch, cafile: str) -> None:
    """The SDK clients trust a fake's certificate (REQUESTS_CA_BUNDLE) and reach it on
    loopback directly: no proxy of the machine's in the way."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", cafile)
    for name in (
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture
def fake(tls_files, credential, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A running fake service the clients trust, the fake credential in place, cwd = tmp_path."""
    trust_fake(monkeypatch, tls_files[0])
    monkeypatch.chdir(tmp_path)
    with FakeSynapse(tls_files) as server:
        yield server


def write_notebook(
    path: Path,
    parameters: dict[str, Any],
    body: str = "print('hello')",
    description: str | None = None,
) -> Path:
    """A small .ipynb with one markdown cell, a ``parameters`` cell and one code cell."""
    lines = [f"{name} = {value!r}" for name, value in parameters.items()]
    notebook: dict[str, Any] = {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": ["# Lab notebook\n", "Uses the student's resources."],
            },
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {"tags": ["parameters"]},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["stale\n"]}],
                "source": ["# filled per student at upload\n"]
                + [line + "\n" for line in lines[:-1]]
                + lines[-1:],
            },
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {},
                "outputs": [],
                "source": body,
            },
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    if description:
        notebook["metadata"]["description"] = description
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path
