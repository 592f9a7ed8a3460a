"""The class driver through the real Automation API against a stand-in `pulumi` on PATH.

tests/fakes/bin/pulumi answers as the CLI documents and records every command
line; these tests check what the driver asked of it and what the stacks hold.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml

from classroom.__main__ import main as classroom_main
from classroom.running.driver import MEMORY_PER_SECTION, RESOURCES_PER_STUDENT, default_parallel
from tests.fakes.pulumi_cli import fake_encrypt, fake_salt

FAKES = Path(__file__).resolve().parent.parent / "fakes"
PROJECT = Path(__file__).resolve().parent.parent.parent
PASSWORD = "Str0ng-Passw0rd!"
PASSPHRASE = "class passphrase"
CLASS_SALT = fake_salt(PASSPHRASE)
CHILDREN = 4  # the stand-in's resources per student besides the LabEnvironment


def roster(n: int, start: int = 0) -> list[str]:
    return [f"student{i:03d}" for i in range(start, start + n)]


def write_class(
    root: Path, name: str, ids: list[str], salt: str | None = CLASS_SALT, **extra
) -> Path:
    config = {
        "azure-native:location": "westeurope",
        "lab:expiresOn": "2026-12-31",
        "lab:students": [{"id": i} for i in ids],
        **extra,
    }
    document: dict = {}
    if salt:
        document["encryptionsalt"] = salt
        config["lab:sqlAdminPassword"] = {"secure": fake_encrypt(salt, PASSWORD)}
    document["config"] = config
    path = root / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    (root / "Pulumi.yaml").write_text((PROJECT / "Pulumi.yaml").read_text())
    monkeypatch.setenv("PATH", f"{FAKES / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_PYTHON", sys.executable)
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(tmp_path / "pulumi-calls.jsonl"))
    monkeypatch.setenv("FAKE_PULUMI_CHILDREN", str(CHILDREN))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", PASSPHRASE)
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "pulumi-home"))
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    monkeypatch.delenv("FAKE_PULUMI_FAIL", raising=False)
    return root


def run(root: Path, *argv: str) -> int:
    return classroom_main([*argv, "--root", str(root)])


def calls(root: Path, verb: str | None = None) -> list[dict]:
    path = root.parent / "pulumi-calls.jsonl"
    found = [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []
    args = lambda c: [a for a in c["argv"] if a != "--non-interactive"]  # noqa: E731
    return [dict(c, args=args(c)) for c in found if verb is None or args(c)[:1] == [verb]]


def flag(call: dict, name: str) -> str:
    return call["args"][call["args"].index(name) + 1]


def state(root: Path, stack: str) -> dict:
    return json.loads(
        (
            root / ".pulumi-state" / ".pulumi" / "stacks" / "synapse-ml-lab" / f"{stack}.json"
        ).read_text()
    )


def students_in(root: Path, stack: str) -> list[str]:
    return sorted(
        u.rsplit("::", 1)[1]
        for u in state(root, stack)["resources"]
        if "::synapse-ml-lab:lab:LabEnvironment::" in u
    )


def results(root: Path, name: str) -> dict:
    return json.loads((root / ".classroom" / name / "results.json").read_text())


def test_up_runs_every_section_with_its_stack_config_and_backend(project, capsys):
    write_class(project, "spring", roster(60))
    assert run(project, "up", "--stack", "spring") == 0
    ups = calls(project, "up")
    assert sorted(flag(c, "--stack") for c in ups) == ["spring", "spring-s2", "spring-s3"]
    expected = {"spring": roster(25), "spring-s2": roster(25, 25), "spring-s3": roster(10, 50)}
    for call in ups:
        stack = flag(call, "--stack")
        assert call["backend"] == f"file://{project / '.pulumi-state'}"
        assert call["passphrase"] and call["automation"] == "true"
        assert call["cwd"] == str(project)
        assert "--event-log" in call["args"] and "--skip-preview" in call["args"]
        config = yaml.safe_load(Path(flag(call, "--config-file")).read_text())
        # The class's salt and secret travel with every section: the stand-in decrypts
        # lab:sqlAdminPassword with the config file's salt, as the passphrase provider does.
        assert config["encryptionsalt"] == CLASS_SALT
        assert [s["id"] for s in config["config"]["lab:students"]] == expected[stack]
        assert students_in(project, stack) == expected[stack]
        assert len(state(project, stack)["resources"]) == 2 + (1 + CHILDREN) * len(expected[stack])
    # The class stack's own section reads a generated file, never the instructor's roster of 60.
    [own] = [c for c in ups if flag(c, "--stack") == "spring"]
    assert flag(own, "--config-file") == str(
        project / ".classroom" / "spring" / "Pulumi.spring.yaml"
    )
    lock = yaml.safe_load((project / "Pulumi.spring.sections.yaml").read_text())
    assert lock["sections"] == expected
    recorded = results(project, "spring")["up"]
    assert {k: v["status"] for k, v in recorded.items()} == {s: "ok" for s in expected}
    assert recorded["spring-s3"]["changes"] == {"create": 2 + 5 * 10}
    out = capsys.readouterr().out
    assert "3/3 sections ok" in out and "+252" not in out and "+52" in out


def test_stacks_are_selected_and_created_one_at_a_time_before_any_operation(project):
    write_class(project, "c", roster(12), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c", "--parallel", "4") == 0
    setup = [c for c in calls(project, "stack") if c["args"][1] in ("select", "init")]
    ups = calls(project, "up")
    assert [c["args"][1] for c in setup].count("init") == 4
    assert max_overlap([(c["start"], c["end"]) for c in setup]) == 1
    assert max(c["end"] for c in setup) <= min(c["start"] for c in ups)
    assert max_overlap([(c["start"], c["end"]) for c in ups]) > 1  # while the operations overlap


def max_overlap(intervals: list[tuple[float, float]]) -> int:
    points = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals])
    running = peak = 0
    for _, step in points:
        running += step
        peak = max(peak, running)
    return peak


def test_sections_run_in_parallel_up_to_the_bound(project, monkeypatch):
    write_class(project, "c", roster(10), **{"lab:sectionSize": 2})
    monkeypatch.setenv("FAKE_PULUMI_STEP_SECONDS", "0.03")
    assert run(project, "up", "--stack", "c", "--parallel", "2") == 0
    ups = calls(project, "up")
    assert len(ups) == 5
    assert max_overlap([(c["start"], c["end"]) for c in ups]) == 2


def test_the_default_bound_is_what_memory_holds():
    assert default_parallel(memory=24 * 2**30, cpus=2) == 8  # 16 fit in memory, 4 per core
    assert default_parallel(memory=6 * 2**30, cpus=8) == 6 * 2**30 // MEMORY_PER_SECTION == 4
    assert default_parallel(memory=2**29, cpus=4) == 1


def test_a_failing_section_is_reported_the_others_finish_and_retry_runs_only_it(
    project, monkeypatch, capsys
):
    write_class(project, "c", roster(9), **{"lab:sectionSize": 3})
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "c-s2")
    assert run(project, "up", "--stack", "c", "--parallel", "3") == 1
    recorded = results(project, "c")["up"]
    assert {k: v["status"] for k, v in recorded.items()} == {
        "c": "ok",
        "c-s2": "failed",
        "c-s3": "ok",
    }
    assert "QuotaExceeded" in recorded["c-s2"]["error"]
    assert students_in(project, "c") == roster(3) and students_in(project, "c-s3") == roster(3, 6)
    assert len(students_in(project, "c-s2")) < 3  # stopped halfway
    captured = capsys.readouterr()
    assert "2/3 sections ok" in captured.out and "failed" in captured.out
    assert "--retry-failed" in captured.err

    monkeypatch.delenv("FAKE_PULUMI_FAIL")
    before = len(calls(project, "up"))
    assert run(project, "up", "--stack", "c", "--retry-failed") == 0
    retried = calls(project, "up")[before:]
    assert [flag(c, "--stack") for c in retried] == ["c-s2"]
    assert students_in(project, "c-s2") == roster(3, 3)
    assert all(v["status"] == "ok" for v in results(project, "c")["up"].values())

    assert run(project, "up", "--stack", "c", "--retry-failed") == 0
    assert len(calls(project, "up")) == before + 1
    assert "no section failed last time" in capsys.readouterr().err


def test_one_section_or_one_student(project):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c", "--section", "c-s2") == 0
    assert [flag(c, "--stack") for c in calls(project, "up")] == ["c-s2"]
    assert students_in(project, "c-s2") == roster(3, 3)

    assert run(project, "destroy", "--stack", "c", "--student", "student004") == 0
    [destroy] = calls(project, "destroy")
    assert flag(destroy, "--stack") == "c-s2"
    assert (
        flag(destroy, "--target")
        == "urn:pulumi:c-s2::synapse-ml-lab::synapse-ml-lab:lab:LabEnvironment::student004"
    )
    assert "--target-dependents" in destroy["args"]
    assert students_in(project, "c-s2") == ["student003", "student005"]
    assert run(project, "up", "--stack", "c", "--student", "nobody") == 2


def test_a_small_class_is_one_stack_with_the_class_file(project):
    path = write_class(project, "dev", ["ann", "bob"])
    before = path.read_text()
    assert run(project, "up", "--stack", "dev") == 0
    [up] = calls(project, "up")
    assert flag(up, "--stack") == "dev" and flag(up, "--config-file") == str(path)
    assert path.read_text() == before
    assert (
        not list(project.glob("Pulumi.dev-*.yaml"))
        and not (project / ".classroom" / "dev" / "Pulumi.dev.yaml").exists()
    )


def test_a_new_class_gets_one_salt_from_its_class_stack(project):
    write_class(project, "c", roster(4), salt=None, **{"lab:sectionSize": 2})
    assert run(project, "up", "--stack", "c") == 0
    salt = yaml.safe_load((project / "Pulumi.c.yaml").read_text())["encryptionsalt"]
    inits = [c for c in calls(project, "stack") if c["args"][1] == "init"]
    assert inits[0]["args"][2] == "c"  # the class stack first: it writes the class's salt
    assert yaml.safe_load((project / "Pulumi.c-s2.yaml").read_text())["encryptionsalt"] == salt
    assert state(project, "c-s2")["salt"] == state(project, "c")["salt"] == salt


def test_removing_every_student_of_a_section_destroys_it(project, capsys):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c") == 0
    assert (project / "Pulumi.c-s2.yaml").is_file()
    write_class(project, "c", roster(3))
    capsys.readouterr()
    assert run(project, "up", "--stack", "c") == 0
    [destroy] = calls(project, "destroy")
    assert flag(destroy, "--stack") == "c-s2" and "--preview-only" not in destroy["args"]
    assert state(project, "c-s2")["resources"] == []
    assert students_in(project, "c") == roster(3)
    assert results(project, "c")["up"]["c-s2"]["status"] == "removed"
    # Destroyed for good: its lock entry and its generated config are gone.
    lock = yaml.safe_load((project / "Pulumi.c.sections.yaml").read_text())
    assert lock["sections"] == {"c": roster(3)}
    assert not (project / "Pulumi.c-s2.yaml").exists()
    assert "2/2 sections ok" in capsys.readouterr().out
    # The next run has one section left, and a new student takes a place in a new c-s2.
    write_class(project, "c", roster(4), **{"lab:sectionSize": 3})
    assert run(project, "preview", "--stack", "c") == 0
    assert {s: r["status"] for s, r in results(project, "c")["preview"].items()} == {
        "c": "ok",
        "c-s2": "ok",
    }


def test_an_emptied_section_that_was_never_deployed_is_dropped_by_up(project):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    (project / "Pulumi.c.sections.yaml").write_text(
        "sections:\n  c: [student000, student001, student002]\n"
        "  c-s2: [gone1, gone2]\n  c-s3: [student003, student004, student005]\n"
    )
    assert run(project, "up", "--stack", "c") == 0
    assert results(project, "c")["up"]["c-s2"]["status"] == "absent"
    assert calls(project, "destroy") == []
    lock = yaml.safe_load((project / "Pulumi.c.sections.yaml").read_text())
    assert lock["sections"] == {"c": roster(3), "c-s3": roster(3, 3)}
    assert not (project / "Pulumi.c-s2.yaml").exists()


def test_an_emptied_section_previews_as_its_removal(project, capsys):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c") == 0
    write_class(project, "c", roster(3), **{"lab:sectionSize": 3})
    capsys.readouterr()
    assert run(project, "preview", "--stack", "c") == 0
    previews = {flag(c, "--stack"): c for c in calls(project, "preview")}
    assert list(previews) == ["c"]  # the emptied section is not previewed as a program run
    [destroy] = calls(project, "destroy")
    assert flag(destroy, "--stack") == "c-s2" and "--preview-only" in destroy["args"]
    recorded = results(project, "c")["preview"]
    assert recorded["c-s2"]["status"] == "will be removed"
    assert recorded["c-s2"]["changes"] == {"delete": 2 + 3 * (1 + CHILDREN)}
    out = capsys.readouterr().out
    assert "will be removed" in out and "2/2 sections ok" in out
    # A preview changes nothing: the stack, its config and its lock entry are all still there.
    assert students_in(project, "c-s2") == roster(3, 3)
    assert (project / "Pulumi.c-s2.yaml").is_file()
    assert "c-s2" in yaml.safe_load((project / "Pulumi.c.sections.yaml").read_text())["sections"]


def test_plugins_are_installed_once_before_the_sections_run(project):
    write_class(project, "c", roster(9), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c", "--parallel", "3") == 0
    [install] = calls(project, "install")
    assert install["args"] == ["install", "--no-dependencies"]
    ups = calls(project, "up")
    assert install["end"] <= min(c["start"] for c in ups)
    # No section had to fetch a plugin itself (the race of pulumi/pulumi#22784).
    assert [c["autoInstalled"] for c in ups] == [[], [], []]


def test_without_the_install_every_parallel_section_would_fetch_plugins(project, monkeypatch):
    """The stand-in notices the race the install avoids: the check above can fail."""
    from classroom.running import driver

    monkeypatch.setattr(driver.ClassRun, "install_plugins", lambda self: None)
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c", "--parallel", "2") == 0
    # The first section to start finds no plugin and fetches it in the middle of its run.
    assert any(c["autoInstalled"] == ["azure-native", "random"] for c in calls(project, "up"))


def test_refresh_and_a_students_retry_pass_the_strict_cli(project):
    """What `classroom refresh` and a retry of one student send is accepted by the CLI 3.206."""
    write_class(project, "c", roster(4), **{"lab:sectionSize": 2})
    assert run(project, "up", "--stack", "c") == 0
    assert run(project, "refresh", "--stack", "c") == 0
    refreshes = calls(project, "refresh")
    assert sorted(flag(c, "--stack") for c in refreshes) == ["c", "c-s2"]
    assert all(c["code"] == 0 for c in refreshes)
    assert {r["status"] for r in results(project, "c")["refresh"].values()} == {"ok"}

    assert run(project, "up", "--stack", "c", "--student", "student003") == 0
    retry = calls(project, "up")[-1]
    assert flag(retry, "--stack") == "c-s2" and "--target-dependents" in retry["args"]
    assert retry["code"] == 0


def test_destroy_and_refresh_never_create_a_stack(project):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "destroy", "--stack", "c") == 0
    assert not [c for c in calls(project, "stack") if c["args"][1] == "init"]
    assert calls(project, "destroy") == []
    assert {v["status"] for v in results(project, "c")["destroy"].values()} == {"absent"}


def test_preview_writes_no_state_and_backend_can_be_azblob(project, monkeypatch, tmp_path):
    write_class(project, "c", roster(4), **{"lab:sectionSize": 2})
    monkeypatch.setenv("FAKE_PULUMI_HOME", str(tmp_path / "blob"))
    assert run(project, "preview", "--stack", "c", "--backend", "azblob://labstate") == 0
    previews = calls(project, "preview")
    assert {c["backend"] for c in previews} == {"azblob://labstate"}
    assert {v["changes"]["create"] for v in results(project, "c")["preview"].values()} == {
        2 + 5 * 2
    }
    assert not (project / ".pulumi-state").exists()


def test_expired_destroys_exactly_the_expired_sections(project, capsys):
    write_class(project, "old", roster(5), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-03-01"})
    write_class(project, "cur", roster(3), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-09-30"})
    write_class(project, "last", roster(1), **{"lab:expiresOn": "2026-05-31"})
    for name in ("old", "cur", "last"):
        assert run(project, "up", "--stack", name) == 0
    capsys.readouterr()
    summary = project.parent / "summary.md"
    code = run(
        project,
        "expired",
        "--all",
        "--today",
        "2026-06-01",
        "--destroy",
        "--json",
        "--summary",
        str(summary),
    )
    assert code == 0
    destroyed = sorted(flag(c, "--stack") for c in calls(project, "destroy"))
    assert destroyed == ["last", "old", "old-s2", "old-s3"]
    report = json.loads(capsys.readouterr().out)
    assert report["classes"]["cur"] == {
        "expiresOn": "2026-09-30",
        "expired": False,
        "done": False,
        "error": None,
        "sections": {},
    }
    assert {s: r["status"] for s, r in report["classes"]["old"]["sections"].items()} == {
        "old": "ok",
        "old-s2": "ok",
        "old-s3": "ok",
    }
    for stack in ("old", "old-s2", "old-s3", "last"):
        assert state(project, stack)["resources"] == []
    assert students_in(project, "cur") == roster(2) and students_in(project, "cur-s2") == [
        "student002"
    ]
    text = summary.read_text()
    assert (
        "| old | 2026-03-01 | old-s3 | ok |" in text
        and "| cur | 2026-09-30 | | kept (not expired) | |" in text
    )


def test_expired_without_destroy_only_lists(project, capsys):
    write_class(project, "old", roster(3), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-03-01"})
    assert run(project, "expired", "--stack", "old", "--today", "2026-03-02") == 0
    assert "old: expired on 2026-03-01: sections old, old-s2" in capsys.readouterr().err
    assert not (project.parent / "pulumi-calls.jsonl").exists()
    # The day itself is not past yet.
    assert run(project, "expired", "--stack", "old", "--today", "2026-03-01") == 0
    assert "runs until 2026-03-01" in capsys.readouterr().err


def test_an_unreadable_class_config_beside_an_expired_class(project, capsys):
    """The others are still listed and destroyed; the broken one is named and exit code 3 says so."""
    write_class(project, "old", roster(3), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-03-01"})
    assert run(project, "up", "--stack", "old") == 0
    (project / "Pulumi.typo.yaml").write_text("config:\n  lab:students: [unclosed\n")
    capsys.readouterr()
    summary = project.parent / "summary.md"
    argv = ["expired", "--all", "--today", "2026-06-01", "--json", "--summary", str(summary)]
    assert run(project, *argv) == 3
    listed = json.loads(capsys.readouterr().out)["classes"]
    assert listed["old"]["expired"] is True and listed["old"]["error"] is None
    assert listed["typo"]["expired"] is False and "Pulumi.typo.yaml" in listed["typo"]["error"]
    assert "could not be read" in summary.read_text() and "typo" in summary.read_text()
    assert run(project, *argv, "--destroy") == 3
    assert sorted(flag(c, "--stack") for c in calls(project, "destroy")) == ["old", "old-s2"]
    assert state(project, "old")["resources"] == [] == state(project, "old-s2")["resources"]


def test_an_expired_class_already_destroyed_is_done_not_destroyed_again(project, capsys):
    write_class(project, "old", roster(5), **{"lab:sectionSize": 2, "lab:expiresOn": "2026-03-01"})
    assert run(project, "up", "--stack", "old") == 0
    # One section was destroyed by hand already: only the other two are destroyed.
    assert run(project, "destroy", "--stack", "old", "--section", "old-s2") == 0
    capsys.readouterr()
    argv = ["expired", "--stack", "old", "--today", "2026-06-01", "--destroy", "--json"]
    assert run(project, *argv) == 0
    first = json.loads(capsys.readouterr().out)["classes"]["old"]
    assert first["done"] is False
    assert {s: r["status"] for s, r in first["sections"].items()} == {
        "old": "ok",
        "old-s2": "already destroyed",
        "old-s3": "ok",
    }
    destroys = [flag(c, "--stack") for c in calls(project, "destroy")]
    assert sorted(destroys) == ["old", "old-s2", "old-s3"]  # old-s2 by hand, before
    # The next day: every section's state is empty; nothing runs, the class is done.
    summary = project.parent / "summary.md"
    installs = len(calls(project, "install"))
    assert run(project, *argv, "--summary", str(summary)) == 0
    second = json.loads(capsys.readouterr().out)["classes"]["old"]
    assert second["done"] is True and second["error"] is None
    assert {r["status"] for r in second["sections"].values()} == {"already destroyed"}
    assert [flag(c, "--stack") for c in calls(project, "destroy")] == destroys
    assert len(calls(project, "install")) == installs  # no engine, no plugins
    assert len(state(project, "old")["history"]) == 2  # up, then the destroy: no new update
    assert "| old | 2026-03-01 | | done (already destroyed) | |" in summary.read_text()
    # A stack that never existed is as done as an emptied one.
    write_class(project, "never", roster(1), **{"lab:expiresOn": "2026-03-01"})
    assert run(project, "expired", "--stack", "never", "--today", "2026-06-01", "--destroy") == 0
    assert "never: expired on 2026-03-01: done" in capsys.readouterr().err


def test_the_progress_estimate_matches_the_program():
    from classroom.planning.simulate import run_program

    floor = {"azure-native:location": "westeurope", "lab:expiresOn": "2026-12-31"}
    one = run_program({**floor, "lab:students": [{"id": "a"}]}, preview=True)
    two = run_program({**floor, "lab:students": [{"id": "a"}, {"id": "b"}]}, preview=True)
    assert len(two.resources) - len(one.resources) == RESOURCES_PER_STUDENT


def test_an_older_cli_streams_events_through_a_file_and_progress_counts_them(project, monkeypatch):
    # The Automation API reads events from a log file for CLIs up to 3.205, over gRPC after.
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "3.200.0")
    write_class(project, "c", roster(4), **{"lab:sectionSize": 2})
    assert run(project, "up", "--stack", "c") == 0
    for call in calls(project, "up"):
        assert not flag(call, "--event-log").startswith("tcp://")
    recorded = results(project, "c")["up"]
    # Every resource step seen from the events: 2 students x 5 plus the stack and its provider.
    assert {s: r["resources"] for s, r in recorded.items()} == {"c": 12, "c-s2": 12}
    assert {s: r["changes"] for s, r in recorded.items()} == {
        "c": {"create": 12},
        "c-s2": {"create": 12},
    }


def test_the_exit_code_of_python_m_classroom_says_whether_a_section_failed(project, monkeypatch):
    import subprocess

    write_class(project, "c", roster(4), **{"lab:sectionSize": 2})
    command = [sys.executable, "-m", "classroom", "up", "--stack", "c", "--root", str(project)]
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "c")
    failed = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert failed.returncode == 1, failed.stderr
    assert "1 section(s) failed: c;" in failed.stderr
    monkeypatch.delenv("FAKE_PULUMI_FAIL")
    retried = subprocess.run(
        command + ["--retry-failed"], cwd=PROJECT, capture_output=True, text=True, timeout=300
    )
    assert retried.returncode == 0, retried.stderr
    assert "1/1 sections ok" in retried.stdout


def test_a_missing_passphrase_stops_before_any_stack_is_touched(project, monkeypatch, capsys):
    write_class(project, "c", roster(4), **{"lab:sectionSize": 2})
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE")
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    assert run(project, "up", "--stack", "c") == 2
    assert "set PULUMI_CONFIG_PASSPHRASE" in capsys.readouterr().err
    assert calls(project) == [] and not (project / "Pulumi.c.sections.yaml").exists()
