"""Run the real Pulumi program offline, under Pulumi's mock engine, and record it.

Used by the unit tests and by the offline plan (``python -m classroom plan``):
no Azure credentials, no Pulumi CLI, no network. Every resource the program
declares is recorded with its inputs, the outputs the mocks gave it, its parent,
its dependencies and which inputs were secret. The mocks answer like Azure would
in shape (ARM ids, managed-identity principal ids, storage endpoints), with
deterministic values, so the program's own wiring is what the tests check.
"""

from __future__ import annotations

import hashlib
import logging
import runpy
import sys
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from classroom.stackfile import PROJECT_DIR

PROGRAM = PROJECT_DIR / "__main__.py"
PROJECT_NAME = "synapse-ml-lab"
FAKE_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
FAKE_TENANT = "00000000-0000-0000-0000-0000000000bb"
FAKE_DEPLOYER = "00000000-0000-0000-0000-0000000000cc"
_SECRET_SIG = "4dabf18193072939515e22adb298388d"

# type token -> (input holding the Azure name, ARM id template). The id is built
# from the inputs the program gave, as Azure would.
_AZURE_TYPES: dict[str, tuple[str, str]] = {
    "azure-native:resources:ResourceGroup": (
        "resourceGroupName",
        "/subscriptions/{sub}/resourceGroups/{name}",
    ),
    "azure-native:storage:StorageAccount": (
        "accountName",
        "{rg}/providers/Microsoft.Storage/storageAccounts/{name}",
    ),
    "azure-native:storage:BlobContainer": (
        "containerName",
        "{rg}/providers/Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{name}",
    ),
    "azure-native:storage:Blob": (
        "blobName",
        "https://{accountName}.blob.core.windows.net/{containerName}/{name}",
    ),
    "azure-native:synapse:Workspace": (
        "workspaceName",
        "{rg}/providers/Microsoft.Synapse/workspaces/{name}",
    ),
    "azure-native:synapse:IpFirewallRule": (
        "ruleName",
        "{rg}/providers/Microsoft.Synapse/workspaces/{workspaceName}/firewallRules/{name}",
    ),
    "azure-native:synapse:BigDataPool": (
        "bigDataPoolName",
        "{rg}/providers/Microsoft.Synapse/workspaces/{workspaceName}/bigDataPools/{name}",
    ),
    "azure-native:synapse:SqlPool": (
        "sqlPoolName",
        "{rg}/providers/Microsoft.Synapse/workspaces/{workspaceName}/sqlPools/{name}",
    ),
    "azure-native:machinelearningservices:Workspace": (
        "workspaceName",
        "{rg}/providers/Microsoft.MachineLearningServices/workspaces/{name}",
    ),
    "azure-native:machinelearningservices:Compute": (
        "computeName",
        "{rg}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}/computes/{name}",
    ),
    "azure-native:machinelearningservices:Datastore": (
        "name",
        "{rg}/providers/Microsoft.MachineLearningServices/workspaces/{workspaceName}/datastores/{name}",
    ),
    "azure-native:keyvault:Vault": ("vaultName", "{rg}/providers/Microsoft.KeyVault/vaults/{name}"),
    "azure-native:operationalinsights:Workspace": (
        "workspaceName",
        "{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}",
    ),
    "azure-native:applicationinsights:Component": (
        "resourceName",
        "{rg}/providers/Microsoft.Insights/components/{name}",
    ),
    # An extension resource: its id continues the id of the resource it reads.
    "azure-native:monitor:DiagnosticSetting": (
        "name",
        "{resourceUri}/providers/Microsoft.Insights/diagnosticSettings/{name}",
    ),
    "azure-native:authorization:RoleDefinition": (
        "roleDefinitionId",
        "{scope}/providers/Microsoft.Authorization/roleDefinitions/{name}",
    ),
    "azure-native:authorization:RoleAssignment": (
        "roleAssignmentName",
        "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
    ),
    "azure-native:consumption:Budget": (
        "budgetName",
        "{scope}/providers/Microsoft.Consumption/budgets/{name}",
    ),
}
_WITH_SYSTEM_IDENTITY = {
    "azure-native:synapse:Workspace",
    "azure-native:machinelearningservices:Workspace",
    "azure-native:machinelearningservices:Compute",
}


def fake_principal_id(urn_name: str) -> str:
    """A deterministic GUID standing in for a managed identity's principal id."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"principal:{urn_name}"))


def fake_suffix(name: str, length: int) -> str:
    """A deterministic lowercase/digit string standing in for RandomString.result."""
    digest = hashlib.sha256(name.encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:length])


@dataclass
class Declared:
    """One resource the program declared."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    secret_inputs: set[str]
    additional_secret_outputs: list[str]
    provider: str
    # Each alias (``opts.aliases``) as the URN it names, worked out as the engine does.
    aliases: list[str] = field(default_factory=list)

    @property
    def azure_name(self) -> str | None:
        key = _AZURE_TYPES.get(self.type, (None,))[0]
        return self.inputs.get(key) if key else None


class LabMocks(pulumi_mocks.Mocks):
    """Answers resource registrations and invokes like Azure would in shape."""

    def __init__(self, subscription_id: str = FAKE_SUBSCRIPTION):
        self.subscription_id = subscription_id

    def call(self, args: pulumi_mocks.MockCallArgs):
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "subscriptionId": self.subscription_id,
                "tenantId": FAKE_TENANT,
                "objectId": FAKE_DEPLOYER,
                "clientId": "00000000-0000-0000-0000-0000000000dd",
            }, []
        return {}, []

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        outputs = dict(args.inputs)
        typ = args.typ
        if typ == "random:index/randomString:RandomString":
            outputs["result"] = fake_suffix(args.name, int(args.inputs.get("length", 7)))
            return f"{args.name}-id", outputs
        if typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "Mock-Passw0rd!" + fake_suffix(args.name, 8)
            return f"{args.name}-id", outputs
        if typ in _AZURE_TYPES:
            key, template = _AZURE_TYPES[typ]
            name = args.inputs.get(key) or args.name
            sub = f"/subscriptions/{self.subscription_id}"
            rg = f"{sub}/resourceGroups/{args.inputs.get('resourceGroupName', '')}"
            values = {k: v for k, v in args.inputs.items() if isinstance(v, str)}
            values.update(sub=self.subscription_id, rg=rg, name=name)
            resource_id = template.format_map(_Default(values))
            outputs.update(name=name, id=resource_id)
            if typ in _WITH_SYSTEM_IDENTITY:
                identity = dict(outputs.get("identity") or {})
                identity.update(principalId=fake_principal_id(args.name), tenantId=FAKE_TENANT)
                outputs["identity"] = identity
            if typ == "azure-native:operationalinsights:Workspace":
                # Azure's workspace (customer) id: a GUID of its own, not in the ARM id.
                outputs["customerId"] = str(
                    uuid.uuid5(uuid.NAMESPACE_URL, f"workspace:{args.name}")
                )
            if typ == "azure-native:storage:StorageAccount":
                outputs["primaryEndpoints"] = {
                    "blob": f"https://{name}.blob.core.windows.net/",
                    "dfs": f"https://{name}.dfs.core.windows.net/",
                }
            if typ == "azure-native:operationalinsights:Workspace":
                # The workspace's GUID (Azure assigns it; the query API takes it).
                outputs["customerId"] = fake_principal_id(f"{args.name}-customer-id")
            return resource_id, outputs
        return f"{args.name}-id", outputs


class _Default(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping what the engine would see of each registration."""

    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.lock = threading.Lock()
        self.declared: list[Declared] = []

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        raw = json_format.MessageToDict(request.object)
        secret_inputs = {k for k, v in raw.items() if _is_secret(v)}
        registration = self.resources.get(response.urn)
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        record = Declared(
            urn=response.urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent,
            inputs=_plain(inputs),
            outputs=_plain(registration.state if registration else {}),
            dependencies=list(request.dependencies),
            property_dependencies={
                k: list(v.urns) for k, v in request.propertyDependencies.items()
            },
            secret_inputs=secret_inputs,
            additional_secret_outputs=list(request.additionalSecretOutputs),
            provider=request.provider,
            aliases=[self._alias_urn(request, alias) for alias in request.aliases],
        )
        with self.lock:
            self.declared.append(record)
        return response

    def _alias_urn(self, request, alias) -> str:
        """The URN an alias names: as given, or its spec's fields over the resource's own."""
        if alias.urn:
            return alias.urn
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)


def _is_secret(value: Any) -> bool:
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            return True
        return any(_is_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(_is_secret(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and _SECRET_SIG in value:
        return _plain(value.get("value"))
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


@dataclass
class Export:
    value: Any
    secret: bool


@dataclass
class Simulation:
    """What one offline run of the program declared, exported and logged."""

    resources: list[Declared]
    exports: dict[str, Export]
    warnings: list[str] = field(default_factory=list)

    def of_type(self, typ: str) -> list[Declared]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name_contains: str = "") -> Declared:
        found = [r for r in self.of_type(typ) if name_contains in r.name]
        if len(found) != 1:
            raise AssertionError(
                f"expected one {typ} named *{name_contains}*, found {[r.name for r in found]}"
            )
        return found[0]

    def by_urn(self, urn: str) -> Declared:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise KeyError(urn)

    def children_of(self, parent: Declared) -> list[Declared]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants_of(self, ancestor: Declared) -> list[Declared]:
        found, frontier = [], [ancestor.urn]
        while frontier:
            urn = frontier.pop()
            for r in self.resources:
                if r.parent == urn:
                    found.append(r)
                    frontier.append(r.urn)
        return found


class _WarningCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(
    config: Mapping[str, Any],
    *,
    secret_keys: tuple[str, ...] = (),
    stack: str = "dev",
    preview: bool = False,
    mocks: pulumi_mocks.Mocks | None = None,
    program: Path = PROGRAM,
) -> Simulation:
    """Run ``program`` with ``config`` (full keys like ``lab:students``) under mocks.

    Values that are not strings are JSON-encoded, as ``pulumi config set --path``
    would store them. Raises whatever the program raises (e.g. ConfigError).
    """
    import json

    flat = {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}
    pulumi.runtime.set_all_config(flat, list(secret_keys))
    monitor = RecordingMonitor(mocks or LabMocks())
    capture = _WarningCapture()
    logger = logging.getLogger(f"synapse-ml-lab.simulate.{id(capture)}")
    logger.addHandler(capture)
    logger.propagate = False
    pulumi_settings.reset_options(project=PROJECT_NAME, stack=stack)
    pulumi_mocks.set_mocks(
        monitor.mocks,
        project=PROJECT_NAME,
        stack=stack,
        preview=preview,
        logger=logger,
        monitor=monitor,
    )
    exported: dict[str, Any] = {}

    def export(name: str, value: Any) -> None:
        exported[name] = value

    sys.path.insert(0, str(program.parent))
    try:
        with mock.patch.object(pulumi, "export", export):
            try:
                _sync_await(
                    run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__"))
                )
            except Exception as exc:
                # What the program declared before it failed (it should be nothing
                # when the failure is a config error).
                exc.declared = list(monitor.declared)  # type: ignore[attr-defined]
                raise
        exports = {name: _resolve(value) for name, value in exported.items()}
    finally:
        sys.path.remove(str(program.parent))
        logger.removeHandler(capture)
    return Simulation(resources=list(monitor.declared), exports=exports, warnings=capture.messages)


def _resolve(value: Any) -> Export:
    output = pulumi.Output.from_input(value)

    async def both():
        return await output.future(), await output.is_secret()

    resolved, secret = _sync_await(both())
    return Export(value=_plain(resolved), secret=bool(secret))
