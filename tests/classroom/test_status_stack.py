"""Reading a stack through the real Automation API, with a stand-in `pulumi` executable.

The Pulumi CLI cannot be installed here: `PulumiCommand(root=tests/fakes)` points
the Automation API at the shared stand-in (tests/fakes/bin/pulumi, the one the
driver's tests use), so the code between them is the real one.
"""

from __future__ import annotations

import json
import re
import sys

import pytest

from classroom.checking import environments, status
from classroom.checking.checks import CheckSettings, check_student
from tests.classroom.test_driver import FAKES, roster, run, write_class
from tests.fakes.azure import environment
from tests.fakes.pulumi_cli import fake_salt

PASSWORD = "Tr0ub4dor&3"
PASSPHRASE = "dev passphrase"
SALT = fake_salt(PASSPHRASE, "dev")


@pytest.fixture
def pulumi_root(tmp_path, monkeypatch):
    """A project whose stack `dev` is deployed, as the shared stand-in CLI (tests/fakes/bin/pulumi) keeps it."""
    (tmp_path / "Pulumi.yaml").write_text("name: synapse-ml-lab\nruntime: python\n")
    outputs = {
        "environments": {"ann": environment("ann"), "bob": environment("bob")},
        "sqlAdminLogin": "labadmin",
        "sqlAdminPassword": PASSWORD,
    }
    stack_state = tmp_path / ".pulumi-state" / ".pulumi" / "stacks" / "synapse-ml-lab" / "dev.json"
    stack_state.parent.mkdir(parents=True)
    stack_state.write_text(
        json.dumps(
            {
                "stack": "dev",
                "secretsProvider": "passphrase",
                "salt": SALT,
                "resources": [],
                "history": [],
                "outputs": {
                    name: {"value": value, "secret": name == "sqlAdminPassword"}
                    for name, value in outputs.items()
                },
            }
        )
    )
    (tmp_path / "Pulumi.dev.yaml").write_text(
        f"encryptionsalt: {SALT}\n"
        "config:\n  azure-native:location: westeurope\n  lab:expiresOn: '2026-12-20'\n"
        "  lab:sqlAdminPassword:\n    secure: v1:AAAA\n"
        "  lab:students:\n    - id: ann\n      objectId: 3f2c0000-0000-4000-8000-000000000001\n    - id: bob\n"
    )
    monkeypatch.setenv("FAKE_PULUMI_PYTHON", sys.executable)
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    return tmp_path


def _command(root):
    from pulumi.automation import PulumiCommand

    return PulumiCommand(root=str(FAKES), skip_version_check=True)


def _calls(root) -> list[str]:
    records = [json.loads(line) for line in (root / "calls.jsonl").read_text().splitlines()]
    return [" ".join(a for a in r["argv"] if a != "--non-interactive") for r in records]


def test_environments_and_roster_through_the_automation_api(pulumi_root):
    envs = environments.load_environments(
        ["dev"], pulumi_command=_command(pulumi_root), work_dir=pulumi_root
    )
    assert [e.student for e in envs] == ["ann", "bob"]
    ann, bob = envs
    assert ann.synapse_workspace == environment("ann")["synapseWorkspace"] and ann.stack == "dev"
    assert ann.object_id == "3f2c0000-0000-4000-8000-000000000001" and bob.object_id is None
    assert ann.expires_on == "2026-12-20"
    calls = _calls(pulumi_root)
    # Only the one output, secrets left encrypted: never `--show-secrets` (Stack.outputs() would).
    assert calls == ["version", "stack output environments --json --stack dev"]
    # The roster comes from the settings file: no `pulumi config --show-secrets` (which decrypts the password).
    assert not any(c.startswith("config") for c in calls)
    assert PASSWORD not in repr(envs)


def test_without_the_passphrase_status_says_so_up_front_and_exits_2(pulumi_root, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    with pytest.raises(environments.StatusError, match="set PULUMI_CONFIG_PASSPHRASE"):
        environments.load_environments(
            ["dev"], pulumi_command=_command(pulumi_root), work_dir=pulumi_root
        )
    assert _calls(pulumi_root) == ["version"]  # no stack was opened

    # The command itself: exit code 2 and the sentence, before any sign-in to Azure.
    import argparse
    import functools
    import io

    monkeypatch.setattr(
        environments,
        "load_environments",
        functools.partial(
            environments.load_environments,
            pulumi_command=_command(pulumi_root),
            work_dir=pulumi_root,
        ),
    )
    err = io.StringIO()
    args = argparse.Namespace(stack=["dev"], outputs=None, config=None)
    assert status.main(args, credential=object(), out=io.StringIO(), err=err) == 2
    assert err.getvalue().startswith("error: set PULUMI_CONFIG_PASSPHRASE")


def test_the_stand_in_refuses_as_the_cli_does_when_the_passphrase_is_missing_or_wrong(
    pulumi_root, monkeypatch
):
    """Where Pulumi.<stack>.yaml does not say (config elsewhere), the CLI's refusal is translated."""
    (pulumi_root / "Pulumi.dev.yaml").unlink()
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    with pytest.raises(environments.StatusError, match="set PULUMI_CONFIG_PASSPHRASE"):
        environments.read_stack_outputs("dev", pulumi_root, _command(pulumi_root))
    record = json.loads((pulumi_root / "calls.jsonl").read_text().splitlines()[-1])
    assert record["code"] != 0
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "not the passphrase")
    with pytest.raises(environments.StatusError, match="set PULUMI_CONFIG_PASSPHRASE"):
        environments.read_stack_outputs("dev", pulumi_root, _command(pulumi_root))


def test_an_unknown_stack_is_a_clear_error(pulumi_root, capsys):
    with pytest.raises(
        environments.StatusError,
        match="cannot read stack 'nope': error: no stack named 'nope' found",
    ):
        environments.load_environments(
            ["nope"], pulumi_command=_command(pulumi_root), work_dir=pulumi_root
        )


def test_sections_are_read_stack_after_stack(tmp_path):
    """A class split into sections: the students of every stack named, in order, each with its roster."""
    (tmp_path / "s1.json").write_text(json.dumps({"environments": {"ann": environment("ann")}}))
    (tmp_path / "s2.json").write_text(
        json.dumps({"environments": {"bob": environment("bob"), "cy": environment("cy")}})
    )
    (tmp_path / "Pulumi.s2.yaml").write_text(
        "config:\n  lab:students:\n    - id: bob\n"
        "      objectId: 3f2c0000-0000-4000-8000-000000000002\n    - id: cy\n"
    )
    envs = environments.load_environments(
        ["s1", "s2"], [tmp_path / "s1.json", tmp_path / "s2.json"], work_dir=tmp_path
    )
    assert [(e.stack, e.student, e.object_id) for e in envs] == [
        ("s1", "ann", None),
        ("s2", "bob", "3f2c0000-0000-4000-8000-000000000002"),
        ("s2", "cy", None),
    ]
    with pytest.raises(
        environments.StatusError, match=r"give one --outputs file per --stack \(1 for 2 stacks\)"
    ):
        environments.load_environments(["s1", "s2"], [tmp_path / "s1.json"], work_dir=tmp_path)


def test_no_pulumi_cli_says_what_to_do_instead(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without the Pulumi CLI
    with pytest.raises(
        environments.StatusError, match=r"cannot run the Pulumi CLI .*--outputs FILE"
    ):
        environments.load_environments(["dev"], work_dir=tmp_path)


def test_a_class_in_sections_is_read_section_by_section_and_a_missing_section_reported(project):
    """A class of 30: `classroom up` (the stand-in CLI behind the real Automation API) makes two sections;
    status reads both, and when one has no state its students are reported, the others still read."""
    ids = roster(30)
    write_class(project, "klass", ids)
    assert run(project, "up", "--stack", "klass") == 0

    envs = environments.load_environments(["klass"], work_dir=project)
    assert [e.student for e in envs] == ids
    assert [e.stack for e in envs] == ["klass"] * 25 + ["klass-s2"] * 5
    assert not any(e.not_deployed for e in envs)
    assert envs[26].resource_group == "dp000-student026"

    state_file = (
        project / ".pulumi-state" / ".pulumi" / "stacks" / "synapse-ml-lab" / "klass-s2.json"
    )
    state_file.unlink()
    envs = environments.load_environments(["klass"], work_dir=project)
    assert [e.student for e in envs] == ids
    missing = [e for e in envs if e.not_deployed]
    assert [e.student for e in missing] == ids[25:]
    assert "section klass-s2 has no environment" in missing[0].not_deployed
    assert "python -m classroom up --stack klass --section klass-s2" in missing[0].not_deployed

    # Checked, such a student is not ready for that reason alone: nothing is asked of Azure.
    checked = check_student(missing[0], credential=None, settings=CheckSettings())
    assert not checked.ready
    assert [(f.check, f.message) for f in checked.findings] == [
        ("deployment", missing[0].not_deployed)
    ]


def test_a_student_not_deployed_is_a_row_without_links_in_the_table_and_the_page():
    from classroom.checking.page import render_class_page

    reason = "section klass-s2 has no environment for this student (no stack): run `python -m classroom up`"
    missing = check_student(
        status.Environment.undeployed("zed", reason, stack="klass-s2"), credential=None
    )
    built = status.report([missing], ["klass"], prices=None)
    row = built["students"][0]
    assert row["ready"] is False and row["problems"] == [reason]
    assert row["links"] == {"synapseStudio": "", "amlStudio": "", "portal": ""}
    assert "zed" in status.render_table([missing]) and "not ready" in status.render_table([missing])
    page = render_class_page(built)
    zed = re.search(r'<tr [^>]*data-student="zed".*?</tr>', page, re.S).group(0)
    assert "<a " not in zed and '<td class="links">–</td>' in zed
    assert "python -m classroom up" in zed


def test_a_class_config_with_mistakes_is_an_error_not_a_partial_class(project):
    write_class(project, "klass", roster(30), **{"lab:sectionSize": 0})
    with pytest.raises(
        environments.StatusError, match="cannot tell the sections of 'klass' from Pulumi.klass.yaml"
    ):
        environments.load_environments(["klass"], work_dir=project)


def test_when_no_section_can_be_read_the_class_is_an_error_said_once(project, monkeypatch):
    write_class(project, "klass", roster(30))
    assert run(project, "up", "--stack", "klass") == 0
    monkeypatch.setenv(
        "PULUMI_BACKEND_URL", f"file://{project / 'elsewhere'}"
    )  # a wrong backend: no stack at all
    (project / "elsewhere").mkdir()
    with pytest.raises(environments.StatusError, match="cannot read stack 'klass'"):
        environments.load_environments(["klass"], work_dir=project)


def test_the_cost_guard_settings_come_from_the_class_config_as_the_program_reads_them():
    from classroom.checking.environments import pause_times, pause_zone

    assert pause_times({}) == ("23:00",)  # the program's default
    assert pause_times({"lab:pauseSqlPoolAt": '["22:30", "01:00"]'}) == ("22:30", "01:00")
    assert pause_times({"lab:pauseSqlPoolAt": []}) == ()  # off by config
    assert pause_times({"lab:pauseSqlPoolAt": "not json"}) is None
    assert pause_times({"lab:pauseSqlPoolAt": [2300]}) is None
    assert pause_zone({"lab:timeZone": "UTC", "azure-native:location": "eastus"}) == "UTC"
    assert pause_zone({"azure-native:location": "eastus"}) == "America/New_York"
    assert pause_zone({}) == ""  # the resource group's region decides, at check time
