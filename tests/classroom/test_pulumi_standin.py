"""The stand-in CLI (tests/fakes/pulumi_cli.py) is as strict as pulumi 3.206 where our code depends on it.

Each rule is cited in the stand-in from the CLI's source; these tests check the stand-in
enforces it, so that a driver or status test passing against it means something.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.fakes import pulumi_cli
from tests.fakes.pulumi_cli import (
    STATE_PASSPHRASE_MISSING,
    WRONG_PASSPHRASE,
    fake_encrypt,
    fake_salt,
)

PASSPHRASE = "right passphrase"
COMPONENT = "synapse-ml-lab:lab:LabEnvironment"


@pytest.fixture
def cli(tmp_path, monkeypatch, capsys):
    """Run the stand-in in this process: (exit code, stdout, stderr)."""
    (tmp_path / "Pulumi.yaml").write_text("name: synapse-ml-lab\nruntime: python\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PULUMI_BACKEND_URL", f"file://{tmp_path / 'state'}")
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("PULUMI_DEBUG_COMMANDS", "true")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    for name in ("FAKE_PULUMI_LOG", "FAKE_PULUMI_FAIL", "FAKE_PULUMI_STEP_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAKE_PULUMI_CHILDREN", "2")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = pulumi_cli.main(["--non-interactive", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def write_stack(root: Path, name: str, students: list[str], salt: str) -> Path:
    path = root / f"Pulumi.{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": salt,
                "config": {
                    "lab:students": [{"id": s} for s in students],
                    "lab:sqlAdminPassword": {"secure": fake_encrypt(salt, "P4ssw0rd!x")},
                },
            }
        )
    )
    return path


def deployed(cli, root: Path, students=("ann", "bob")) -> None:
    write_stack(root, "dev", list(students), fake_salt(PASSPHRASE, "dev"))
    assert cli("stack", "init", "--stack", "dev")[0] == 0
    assert cli("up", "--stack", "dev", "--yes", "--skip-preview")[0] == 0


def urns(root: Path, stack: str = "dev") -> list[str]:
    path = root / "state" / ".pulumi" / "stacks" / "synapse-ml-lab" / f"{stack}.json"
    return json.loads(path.read_text())["resources"]


@pytest.mark.parametrize(
    "argv, refused",
    [
        (["up", "--stack", "dev", "--bogus"], "unknown flag: --bogus"),
        (["preview", "--stack", "dev", "--skip-preview"], "unknown flag: --skip-preview"),
        (
            ["destroy", "--stack", "dev", "--exclude-dependents"],
            "unknown flag: --exclude-dependents",
        ),
        (
            ["stack", "output", "--stack", "dev", "--config-file", "x"],
            "unknown flag: --config-file",
        ),
        (["refresh", "--stack", "dev", "-z"], "unknown shorthand flag: 'z' in -z"),
        (["install", "extra"], "too many arguments"),
    ],
)
def test_flags_a_command_does_not_declare_are_refused(cli, tmp_path, argv, refused):
    deployed(cli, tmp_path)
    code, _, err = cli(*argv)
    assert code != 0 and refused in err


def test_event_log_exists_only_for_debug_commands(cli, tmp_path, monkeypatch):
    deployed(cli, tmp_path)
    log = str(tmp_path / "events.jsonl")
    assert cli("preview", "--stack", "dev", "--event-log", log)[0] == 0
    assert Path(log).read_text().count("resourcePreEvent") == 2 + 3 * 2
    monkeypatch.delenv("PULUMI_DEBUG_COMMANDS")
    code, _, err = cli("preview", "--stack", "dev", "--event-log", log)
    assert code != 0 and "unknown flag: --event-log" in err


def test_a_passphrase_stack_opens_only_with_its_passphrase(cli, tmp_path, monkeypatch):
    deployed(cli, tmp_path)
    code, out, _ = cli("stack", "output", "environments", "--json", "--stack", "dev")
    assert code == 0 and sorted(json.loads(out)) == ["ann", "bob"]
    code, out, _ = cli("stack", "output", "--json", "--stack", "dev")
    assert json.loads(out)["sqlAdminPassword"] == "[secret]"

    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    assert cli("stack", "select", "--stack", "dev")[0] == 0  # selecting opens no snapshot
    for argv in (
        ["stack", "output", "environments", "--json", "--stack", "dev"],
        ["up", "--stack", "dev", "--yes", "--skip-preview"],
        ["destroy", "--stack", "dev", "--yes", "--skip-preview"],
    ):
        code, _, err = cli(*argv)
        assert code != 0 and STATE_PASSPHRASE_MISSING in err, argv

    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "wrong passphrase")
    code, _, err = cli("stack", "output", "environments", "--json", "--stack", "dev")
    assert code != 0 and WRONG_PASSPHRASE in err

    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    passphrase_file = tmp_path / "passphrase.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE_FILE", str(passphrase_file))
    assert cli("stack", "output", "environments", "--json", "--stack", "dev")[0] == 0


def test_the_config_file_brings_its_own_salt(cli, tmp_path):
    deployed(cli, tmp_path)
    section = tmp_path / "section.yaml"
    # The same class salt as the stack's, in another file, with a different roster.
    salt = fake_salt(PASSPHRASE, "dev")
    section.write_text(
        yaml.safe_dump(
            {
                "encryptionsalt": salt,
                "config": {
                    "lab:students": [{"id": "cy"}],
                    "lab:sqlAdminPassword": {"secure": fake_encrypt(salt, "pw")},
                },
            }
        )
    )
    code, _, _ = cli("up", "--stack", "dev", "--config-file", str(section), "--yes")
    assert code == 0
    assert [u.rsplit("::", 1)[1] for u in urns(tmp_path) if f"::{COMPONENT}::" in u] == ["cy"]
    # A secret the file's salt did not encrypt does not decrypt, whatever Pulumi.dev.yaml holds.
    other = fake_salt(PASSPHRASE, "other")
    document = yaml.safe_load(section.read_text())
    document["config"]["lab:sqlAdminPassword"] = {"secure": fake_encrypt(other, "pw")}
    section.write_text(yaml.safe_dump(document))
    code, _, err = cli("preview", "--stack", "dev", "--config-file", str(section))
    assert code != 0 and "message authentication failed" in err


def test_destroy_target_takes_the_children_along_up_target_does_not(cli, tmp_path):
    deployed(cli, tmp_path)
    ann = f"urn:pulumi:dev::synapse-ml-lab::{COMPONENT}::ann"
    assert cli("destroy", "--stack", "dev", "--target", ann, "--yes")[0] == 0
    left = urns(tmp_path)
    assert not [u for u in left if u == ann or u.rsplit("::", 1)[1].startswith("ann-")]
    assert [u for u in left if u.rsplit("::", 1)[1].startswith("bob")]  # nobody else's

    # up --target without --target-dependents creates the component alone.
    assert cli("up", "--stack", "dev", "--target", ann, "--yes")[0] == 0
    assert [u for u in urns(tmp_path) if "ann" in u.rsplit("::", 1)[1]] == [ann]
    assert cli("up", "--stack", "dev", "--target", ann, "--target-dependents", "--yes")[0] == 0
    assert len([u for u in urns(tmp_path) if "ann" in u.rsplit("::", 1)[1]]) == 1 + 2


def test_plugins_install_and_an_operation_without_them_installs_them_itself(cli, tmp_path):
    write_stack(tmp_path, "dev", ["ann"], fake_salt(PASSPHRASE, "dev"))
    assert cli("stack", "init", "--stack", "dev")[0] == 0
    cli_obj = pulumi_cli.Cli(["preview", "--stack", "dev"])
    cli_obj.ensure_plugins()
    assert cli_obj.auto_installed == ["azure-native", "random"]
    plugins = tmp_path / "home" / "plugins"
    assert sorted(p.name for p in plugins.iterdir()) == ["resource-azure-native", "resource-random"]
    for folder in plugins.iterdir():
        folder.rmdir()
    assert cli("plugin", "install", "resource", "azure-native", "3.29.0")[0] == 0
    assert [p.name for p in plugins.iterdir()] == ["resource-azure-native"]
    assert cli("install", "--no-dependencies")[0] == 0
    again = pulumi_cli.Cli(["preview", "--stack", "dev"])
    again.ensure_plugins()
    assert again.auto_installed == []
