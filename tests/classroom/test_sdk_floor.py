"""The pulumi floor in requirements.txt holds every Automation API argument the classroom uses.

Each entry: what the code calls, the argument, and the release whose CHANGELOG added it
(pulumi/pulumi CHANGELOG.md). A version between the old floor (3.140) and 3.169 had no
`config_file`, and every section failed with a TypeError.
"""

from __future__ import annotations

import inspect
import re
from importlib.metadata import version
from pathlib import Path

import pytest
from pulumi import automation as auto

ROOT = Path(__file__).resolve().parent.parent.parent
USERS = [
    ROOT / "classroom" / "running" / "driver.py",
    ROOT / "classroom" / "checking" / "environments.py",
]

# (callable, argument, release that added it, how the code spells the use)
USED = [
    (auto.Stack.up, "config_file", (3, 169, 0), "config_file="),
    (auto.Stack.preview, "config_file", (3, 169, 0), "config_file="),
    (auto.Stack.refresh, "config_file", (3, 169, 0), "config_file="),
    (auto.Stack.destroy, "config_file", (3, 169, 0), "config_file="),
    (auto.Stack.preview_destroy, "config_file", (3, 180, 0), "preview_destroy("),
    (auto.Stack.up, "on_event", (3, 2, 0), "on_event="),
    # "[auto/python] Allow for `on_error` callbacks in commands to capture stderr incrementally"
    (auto.Stack.up, "on_error", (3, 187, 0), "on_error="),
    (auto.Stack.destroy, "on_error", (3, 187, 0), "on_error="),
    (auto.Stack.up, "target_dependents", (3, 0, 0), "target_dependents="),
    (auto.Stack.up, "color", (3, 0, 0), "color="),
    (auto.LocalWorkspace.install, "no_dependencies", (3, 131, 0), "install(no_dependencies="),
    # "[auto/python] Add new API to install the Pulumi CLI" (PulumiCommand, 3.104)
    (auto.LocalWorkspace.__init__, "pulumi_command", (3, 104, 0), "pulumi_command="),
    (auto.LocalWorkspace.__init__, "secrets_provider", (3, 0, 0), "secrets_provider="),
    (auto.PulumiCommand.__init__, "skip_version_check", (3, 104, 0), "skip_version_check="),
    (auto.PulumiCommand.run, "additional_env", (3, 104, 0), "pulumi_command.run("),
]
# Engine events over gRPC instead of a polled file (3.206, "[auto/python] Get event log
# over gRPC"): the progress bars of parallel sections rely on it with CLIs after 3.205.
EVENTS_OVER_GRPC = (3, 206, 0)


def floor() -> tuple[int, int, int]:
    text = (ROOT / "requirements.txt").read_text()
    match = re.search(r"^pulumi>=(\d+)\.(\d+)(?:\.(\d+))?,<4$", text, re.M)
    assert match, "requirements.txt must pin pulumi>=X.Y,<4"
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@pytest.mark.parametrize(
    "function, argument, since, spelled",
    USED,
    ids=[f"{u[0].__qualname__}:{u[1]}" for u in USED],
)
def test_the_installed_sdk_has_every_argument_used(function, argument, since, spelled):
    assert argument in inspect.signature(function).parameters
    # The table is about what the code really calls.
    assert any(spelled in path.read_text() for path in USERS), spelled


def test_the_floor_is_at_least_the_newest_feature_used():
    newest = max([since for _, _, since, _ in USED] + [EVENTS_OVER_GRPC])
    assert floor() >= newest
    installed = tuple(int(p) for p in version("pulumi").split(".")[:3])
    assert installed >= floor()


def test_the_old_floor_would_have_been_caught():
    assert max(since for _, _, since, _ in USED) > (3, 140, 0)
