"""`python -m classroom` as a user meets it: real argv in a subprocess, one-line errors, help for every option.

Each error is one line on stderr that says what to do, with the exit code the README
documents (2: nothing ran, the arguments, the config or the sign-in are wrong), and
never a traceback or the parser's usage block. The sign-in cases run with no
credentials at all: no Azure CLI on PATH, no AZURE_* variables, an empty HOME.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from classroom.__main__ import build_parser
from classroom.checking.checks import OUTPUT_KEYS

ROOT = Path(__file__).resolve().parents[2]
SUB = "00000000-0000-0000-0000-000000000001"
NOT_SIGNED_IN = (
    "error: not signed in to Azure: run `az login` (or set AZURE_CLIENT_ID, AZURE_TENANT_ID and "
    "AZURE_CLIENT_SECRET for a service principal); --verbose shows why"
)


def _no_sign_in(folder: Path) -> dict[str, str]:
    """No way to sign in: PATH without az/pwsh/azd, no AZURE_*/ARM_*/GitHub OIDC variables, empty HOME."""
    (folder / "bin").mkdir()
    (folder / "home").mkdir()
    # The managed-identity probe goes to a closed port on loopback instead of the instance
    # metadata address (azure-identity's ImdsCredential takes its host from this variable).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    return {
        "PATH": str(folder / "bin"),
        "HOME": str(folder / "home"),
        "LANG": "C.UTF-8",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST": closed,
    }


@pytest.fixture
def clean_env(tmp_path):
    return _no_sign_in(tmp_path)


def classroom(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "classroom", *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (
            ["plan", "--class-ends", "9am"],
            "argument --class-ends: '9am' is not a time HH:MM on the 24-hour clock",
        ),
        (["plan", "--class-ends", "25:00"], "argument --class-ends: '25:00' is not a time HH:MM"),
        (["plan", "--hours", "-3"], "argument --hours: '-3' is not a number above 0"),
        (["plan", "--days", "-5"], "argument --days: '-5' is not a number above 0"),
        (["plan", "--days", "0"], "argument --days: '0' is not a number above 0"),
        (["plan", "--hours", "nan"], "argument --hours: 'nan' is not a number above 0"),
        (
            ["preflight", "--stack", "dev", "--subscription", "not-a-guid"],
            "argument --subscription: 'not-a-guid' is not a GUID",
        ),
        (["status", "--stack", "dev", "--wait", "soon"], "'soon' is not a duration like 90s"),
    ],
)
def test_a_wrong_argument_is_one_line_and_exit_code_2(argv, fragment, clean_env):
    result = classroom(*argv, env=clean_env)
    line = one_line(result)
    assert result.returncode == 2 and result.stdout == ""
    assert line.startswith(f"python -m classroom {argv[0]}: error: ") and fragment in line
    assert line.endswith(f"(see `python -m classroom {argv[0]} --help`)")


def test_an_unknown_option_or_command_is_one_line(clean_env):
    result = classroom("plan", "--nope", env=clean_env)
    assert result.returncode == 2
    assert one_line(result) == (
        "python -m classroom: error: unrecognized arguments: --nope "
        "(see `python -m classroom --help`)"
    )
    result = classroom("plam", env=clean_env)
    assert result.returncode == 2 and "invalid choice: 'plam'" in one_line(result)


def _outputs(tmp_path: Path) -> Path:
    env = {key: f"{key.lower()}-ann" for key in OUTPUT_KEYS}
    env["subscription"] = SUB
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps({"environments": {"ann": env}}))
    return path


def _signing_in_commands(tmp_path: Path) -> dict[str, list[str]]:
    outputs = str(_outputs(tmp_path))
    return {
        "status": ["status", "--stack", "dev", "--outputs", outputs, "--no-spend"],
        "preflight": ["preflight", "--stack", "dev", "--subscription", SUB],
        "pause": ["pause", "--stack", "dev", "--outputs", outputs],
    }


SIGNING_IN = ("status", "preflight", "pause")


@pytest.fixture(scope="module")
def without_a_sign_in(tmp_path_factory) -> dict[tuple[str, bool], subprocess.CompletedProcess]:
    """(command, --verbose) -> the run, each with no way to sign in.

    The six run at once: each spends about five seconds in azure-identity's retries of the
    managed-identity endpoint (refused on loopback), waiting, not computing.
    """
    folder = tmp_path_factory.mktemp("no-sign-in")
    env = _no_sign_in(folder)
    commands = _signing_in_commands(folder)
    runs = [(command, verbose) for command in SIGNING_IN for verbose in (False, True)]
    with ThreadPoolExecutor(len(runs)) as pool:
        results = pool.map(
            lambda run: classroom(*commands[run[0]], *(["--verbose"] if run[1] else []), env=env),
            runs,
        )
        return dict(zip(runs, results, strict=True))


@pytest.mark.parametrize("command", SIGNING_IN)
def test_without_a_sign_in_the_error_is_one_line_and_verbose_tells_why(command, without_a_sign_in):
    quiet = without_a_sign_in[command, False]
    assert quiet.returncode == 2, quiet.stderr
    assert one_line(quiet) == NOT_SIGNED_IN
    assert "DefaultAzureCredential failed" not in quiet.stderr and quiet.stdout == ""

    loud = without_a_sign_in[command, True]
    assert loud.returncode == 2
    assert loud.stderr.count("error: not signed in to Azure: run `az login`") == 1
    # azure-identity's own account of its chain, which only --verbose shows.
    assert "DefaultAzureCredential failed to retrieve a token" in loud.stderr
    assert "AzureCliCredential: Azure CLI not found on path" in loud.stderr
    assert "Traceback" not in loud.stderr


def test_a_subscription_that_is_not_a_guid_stops_preflight_before_signing_in(clean_env):
    result = classroom("preflight", "--stack", "dev", env={**clean_env, "ARM_SUBSCRIPTION_ID": "x"})
    assert result.returncode == 2
    assert one_line(result) == (
        "error: ARM_SUBSCRIPTION_ID = 'x' is not a subscription id "
        "(a GUID like 00000000-0000-0000-0000-000000000000)"
    )


def _stack(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.class.yaml"
    path.write_text(text)
    return path


def test_a_yaml_syntax_error_is_file_line_and_the_problem(tmp_path, clean_env):
    path = _stack(
        tmp_path,
        "config:\n"
        "  azure-native:location: westeurope\n"
        "  lab:course: spring: ML\n"
        '  lab:expiresOn: "2099-12-31"\n',
    )
    result = classroom("plan", "--stack", "class", "--config", str(path), env=clean_env)
    assert result.returncode == 2 and result.stdout == ""
    assert one_line(result) == (
        f"error: {path}:3: mapping values are not allowed here (column 21): fix the YAML "
        "(indent with spaces, not tabs; quote a value that holds ': ')"
    )


def test_config_problems_name_the_line_and_the_nearest_setting(tmp_path, clean_env):
    path = _stack(
        tmp_path,
        yaml.safe_dump(
            {
                "config": {
                    "azure-native:location": "westeurope",
                    "lab:expiresOn": "2099-12-31",
                    "lab:student": [{"id": "ann"}],
                }
            },
            sort_keys=False,
        ),
    )
    result = classroom("plan", "--stack", "class", "--config", str(path), env=clean_env)
    assert result.returncode == 2
    assert one_line(result).startswith(
        f"error: {path}:4: lab:student is not a setting of this project: did you mean "
        "lab:students? Known settings: allowedIpRanges, amlComputeVmSize, budget, course,"
    )


def test_an_expired_class_plans_with_its_warning_and_exit_code_1(tmp_path, clean_env):
    path = _stack(
        tmp_path,
        yaml.safe_dump(
            {
                "config": {
                    "azure-native:location": "westeurope",
                    "lab:expiresOn": "2020-01-31",
                    "lab:allowedIpRanges": ["203.0.113.0-203.0.113.255"],
                    "lab:students": [{"id": "ann"}],
                }
            }
        ),
    )
    result = classroom("plan", "--stack", "class", "--config", str(path), "--json", env=clean_env)
    assert result.returncode == 1
    assert one_line(result) == (
        "error: lab:expiresOn (2020-01-31) has passed: the daily teardown destroys this class; "
        "move lab:expiresOn before `pulumi up` (or destroy it)"
    )
    data = json.loads(result.stdout)
    assert data["expired"] is True
    assert data["warnings"] == [
        "lab:expiresOn (2020-01-31) has passed: the environment of 1 student is expired: ann. "
        "Run `pulumi destroy` to stop their costs, or move lab:expiresOn if the class goes on."
    ]


# --- help: every option of every command says what it does and what it defaults to ---


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def test_every_option_of_every_command_has_help_that_shows_its_default():
    commands = _commands()
    assert {"plan", "status", "preflight", "pause", "up", "repair", "expired"} <= set(commands)
    missing, no_default = [], []
    for name, command in commands.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            flag = f"{name} {action.option_strings[0] if action.option_strings else action.dest}"
            if not (action.help or "").strip():
                missing.append(flag)
                continue
            takes_value = action.option_strings and action.nargs != 0
            if takes_value and not action.required:
                text = formatter._expand_help(action)
                if "default" not in text:
                    no_default.append(flag)
    assert missing == [], f"options without help text: {missing}"
    assert no_default == [], f"options whose help does not show the default: {no_default}"


def test_help_shows_the_defaults_as_values():
    help_text = " ".join(_commands()["plan"].format_help().split())
    assert "--hours HOURS hours the class's environments are in use" in help_text
    assert "(default: 3.0)" in help_text and "(default: 17:00)" in help_text
    assert "(default: until lab:expiresOn)" in help_text
    status_help = " ".join(_commands()["status"].format_help().split())
    assert "--verbose" in status_help and "--timeout SECONDS" in status_help


def test_a_reader_that_leaves_early_gets_no_traceback(clean_env):
    """`python -m classroom plan | head`: the reader has gone when the plan is printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "classroom", "plan", "--stack", "dev"],
        cwd=ROOT,
        env=clean_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before the plan is printed: every write meets a closed pipe
    err = process.stderr.read()
    assert process.wait(timeout=120) == 1
    assert err == ""


@pytest.mark.parametrize("command", ["up", "sections"])
def test_a_class_config_problem_is_one_line_with_its_line(command, tmp_path, clean_env):
    (tmp_path / "Pulumi.spring.yaml").write_text(
        "config:\n"
        "  azure-native:location: westeurope\n"
        '  lab:expiresOn: "2099-12-31"\n'
        "  lab:studnets:\n"
        "    - id: ann\n"
    )
    result = classroom(command, "--stack", "spring", "--root", str(tmp_path), env=clean_env)
    assert result.returncode == 2
    assert one_line(result).startswith(
        f"error: {tmp_path / 'Pulumi.spring.yaml'}:4: lab:studnets is not a setting of this "
        "project: did you mean lab:students? Known settings: allowedIpRanges,"
    )
