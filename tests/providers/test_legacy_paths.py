"""State written before the providers moved still diffs, updates and deletes after the move.

Each dynamic resource's state holds its provider pickled by reference to its module:
before the layout change that was ``components.synapse_artifacts.<module>``. The
fixture holds that state for every dynamic resource of a one-student stack, as
recorded before the move. The engine's provider process decodes such a blob with
nothing imported; :mod:`providers.legacy_paths` (installed by ``components``) must
make the old names resolve to the moved classes.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import dill
import pytest

from providers import legacy_paths
from tests.conftest import ROOT
from tests.fakes.synapse import FAST, to_wire

STATE = json.loads((ROOT / "tests" / "fixtures" / "provider_state_before_layout.json").read_text())
RESOURCES = {r["name"]: r for r in STATE["resources"]}
NEW_HOME = {
    "components.synapse_artifacts.artifacts": "providers.synapse.artifacts",
    "components.synapse_artifacts.linked_service": "providers.synapse.linked_service",
    "components.synapse_artifacts.rbac": "providers.synapse.rbac",
    "components.synapse_artifacts.sql_pool": "providers.synapse.sql_pool",
    "components.synapse_artifacts.cleanup": "providers.arm.purges",
}


def test_the_fixture_is_old_state():
    assert len(RESOURCES) == 7
    for resource in RESOURCES.values():
        raw = base64.b64decode(resource["provider"])
        assert resource["module"].encode() in raw and b"providers." not in raw
        assert b"components.synapse_artifacts._client" in raw  # RetrySettings, by reference too


def test_every_old_module_has_an_alias():
    assert {f"{legacy_paths.OLD_PACKAGE}.{old}" for old in legacy_paths.MOVED} >= set(NEW_HOME)


def test_old_blobs_decode_in_a_fresh_provider_process_to_the_moved_classes():
    """As the engine's dynamic provider process does it: nothing imported, cwd = the project."""
    script = (
        "import base64, json, sys, dill\n"
        "for blob in json.load(sys.stdin):\n"
        "    p = dill.loads(base64.b64decode(blob))\n"
        "    print(type(p).__module__, type(p).__name__, type(p.retry).__module__, p.retry.max_attempts)\n"
    )
    blobs = [r["provider"] for r in STATE["resources"]]
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(blobs),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = [line.split() for line in done.stdout.splitlines()]
    assert len(lines) == 7
    for resource, (module, cls, retry_module, attempts) in zip(
        STATE["resources"], lines, strict=True
    ):
        assert module == NEW_HOME[resource["module"]], resource["name"]
        assert (
            cls.endswith("Provider") and retry_module == "providers.client" and int(attempts) >= 1
        )


def _with_endpoint(value, url):
    return json.loads(json.dumps(value).replace(STATE["placeholder"], url))


def _setup_live(server, resource) -> None:
    """What destroy finds in Azure for this resource (as tests/providers/test_arm_purges.py sets it up)."""
    inputs = resource["inputs"]
    if resource["name"].endswith("pause-sql"):
        server.add_sql_pool(inputs["sql_pool_id"], status="Paused")
    elif "workspace_id" in inputs:
        server.add_arm_resource(inputs["workspace_id"])
    elif "vault_name" in inputs:
        vault = (
            f"/subscriptions/{inputs['subscription_id']}/resourceGroups/{inputs['resource_group_name']}"
            f"/providers/Microsoft.KeyVault/vaults/{inputs['vault_name']}"
        )
        server.add_arm_resource(vault, inputs["location"])
        server.delete_vault(vault)


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_old_state_diffs_updates_and_deletes_after_the_move(fake, name, monkeypatch):
    monkeypatch.chdir(ROOT)  # the provider process runs in the project directory
    resource = RESOURCES[name]
    provider = dill.loads(base64.b64decode(resource["provider"]))
    provider.retry = FAST
    news = to_wire(_with_endpoint(resource["inputs"], fake.url))
    olds = to_wire(_with_endpoint(resource["outputs"], fake.url))
    _setup_live(fake, resource)
    # What the old state describes exists in the service (the new code puts it there).
    provider.create(news)

    assert provider.diff(resource["id"], olds, news).changes is False
    provider.update(resource["id"], olds, news)

    fake.reset_log()
    provider.delete(resource["id"], olds)
    deletes = [r for r in fake.writes() if r.method in ("DELETE", "POST")]
    if name.endswith("pause-sql"):
        assert deletes == []  # the pause is a one-off on create; forgetting it sends nothing
    else:
        assert deletes, f"{name}: delete sent nothing"
    for collection in fake.artifacts.values():
        assert collection == {}, f"{name}: left {sorted(collection)}"
    assert fake.role_assignments == {}
    if name.endswith(("purge", "force-delete")):
        assert len(fake.purged) == 1
