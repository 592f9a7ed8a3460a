"""`classroom repair` through the real Automation API against the stand-in `pulumi` on PATH.

What is checked is what the repair asked of the CLI: a refresh, then an up, each with
exactly the students' components as targets (and their children), in the students'
own section stacks, with the notebooks reset passed to the program only when asked.
"""

from __future__ import annotations

import io
import json

from classroom.running import repair as repair_module
from tests.classroom.test_driver import (
    calls,
    flag,
    results,
    roster,
    run,
    state,
    write_class,
)

COMPONENT = "synapse-ml-lab:lab:LabEnvironment"


def urn(stack: str, student: str) -> str:
    return f"urn:pulumi:{stack}::synapse-ml-lab::{COMPONENT}::{student}"


def targets(call: dict) -> list[str]:
    args = call["args"]
    return [args[i + 1] for i, a in enumerate(args) if a == "--target"]


def deployed(project, name: str, n: int, size: int = 3) -> None:
    write_class(project, name, roster(n), **{"lab:sectionSize": size})
    assert run(project, "up", "--stack", name) == 0


def test_repair_refreshes_then_updates_exactly_the_students_named_in_their_sections(project):
    deployed(project, "c", 9)  # c: 000-002, c-s2: 003-005, c-s3: 006-008
    before = {s: state(project, s)["resources"] for s in ("c", "c-s2", "c-s3")}
    ups_before = len(calls(project, "up"))

    code = run(
        project, "repair", "--stack", "c", "--student", "student004", "--student", "student001"
    )

    assert code == 0
    refreshes = calls(project, "refresh")
    ups = calls(project, "up")[ups_before:]
    assert sorted(flag(c, "--stack") for c in refreshes) == ["c", "c-s2"]
    assert sorted(flag(c, "--stack") for c in ups) == ["c", "c-s2"]
    for call in refreshes + ups:
        stack = flag(call, "--stack")
        expected = {"c": [urn("c", "student001")], "c-s2": [urn("c-s2", "student004")]}[stack]
        assert targets(call) == expected
        assert "--target-dependents" in call["args"]
        assert call["lab_env"] == {}  # no reset unless asked
        assert flag(call, "--config-file")
    # Every refresh of a section ends before its up starts.
    for stack in ("c", "c-s2"):
        [r] = [c for c in refreshes if flag(c, "--stack") == stack]
        [u] = [c for c in ups if flag(c, "--stack") == stack]
        assert r["end"] <= u["start"]
    # Nobody else was touched: the third section was not even run.
    assert state(project, "c-s3")["resources"] == before["c-s3"]
    recorded = results(project, "c")
    assert set(recorded["repair"]) == {"c", "c-s2"}
    assert all(r["status"] == "ok" for r in recorded["up"].values())  # `up` results untouched


def test_repair_reads_the_not_ready_students_from_a_status_report(project, tmp_path):
    deployed(project, "c", 6)
    report = {
        "stacks": ["c", "c-s2"],
        "students": [
            {"student": "student000", "stack": "c", "ready": True, "problems": []},
            {"student": "student005", "stack": "c-s2", "ready": False, "problems": ["x"]},
            {"student": "student002", "stack": "c", "ready": False, "problems": ["y"]},
        ],
    }
    path = tmp_path / "status.json"
    path.write_text(json.dumps(report))

    assert run(project, "repair", "--stack", "c", "--status", str(path)) == 0

    by_stack = {flag(c, "--stack"): targets(c) for c in calls(project, "refresh")}
    assert by_stack == {"c": [urn("c", "student002")], "c-s2": [urn("c-s2", "student005")]}


def test_a_report_where_everyone_is_ready_repairs_nothing(project, tmp_path, capsys):
    deployed(project, "c", 3)
    path = tmp_path / "status.json"
    path.write_text(json.dumps({"students": [{"student": "student000", "ready": True}]}))
    assert run(project, "repair", "--stack", "c", "--status", str(path)) == 0
    assert calls(project, "refresh") == []
    assert "nothing to repair" in capsys.readouterr().err


def test_an_unknown_student_is_a_clear_error_before_anything_runs(project, capsys):
    deployed(project, "c", 3)
    assert (
        run(project, "repair", "--stack", "c", "--student", "student001", "--student", "bob") == 2
    )
    err = capsys.readouterr().err
    assert "not on the roster of class 'c': bob" in err
    assert calls(project, "refresh") == []


def test_no_student_and_no_report_is_a_usage_error(project, capsys):
    deployed(project, "c", 3)
    assert run(project, "repair", "--stack", "c") == 2
    assert "--student ID" in capsys.readouterr().err
    path = project / "not-a-report.json"
    path.write_text(json.dumps({"sections": {}}))
    assert run(project, "repair", "--stack", "c", "--status", str(path)) == 2
    assert "not the output of `python -m classroom status --json`" in capsys.readouterr().err


def test_a_failing_section_exits_1_and_says_who_is_left(project, monkeypatch, capsys):
    deployed(project, "c", 6)
    monkeypatch.setenv("FAKE_PULUMI_FAIL", "c-s2")
    code = run(
        project, "repair", "--stack", "c", "--student", "student000", "--student", "student004"
    )
    assert code == 1
    captured = capsys.readouterr()
    assert "not repaired: student004" in captured.err
    assert (
        "--student student004" in captured.err
        and "student000" not in captured.err.split("not repaired:")[1]
    )
    # The failed refresh is not followed by an up of that section; the other section is repaired.
    ups = [flag(c, "--stack") for c in calls(project, "up")[2:]]
    assert ups == ["c"]
    assert results(project, "c")["repair"]["c-s2"]["status"] == "failed"


def test_reset_notebooks_asks_first_and_passes_the_reset_to_the_up_only(project, capsys):
    deployed(project, "c", 3)
    args = ["repair", "--stack", "c", "--student", "student001", "--reset-notebooks"]
    parsed = repair_module_args(project, args)
    answers = io.StringIO("n\n")
    asked = []
    assert repair_module.main(parsed, ask=lambda q: asked.append(q) or answers.readline()) == 1
    [question] = asked
    assert "'<name> (your copy <date>)'" in question
    assert "ask them to Publish all first" in question  # unpublished edits live in the browser
    assert calls(project, "refresh") == []
    assert "nothing done" in capsys.readouterr().err

    assert run(project, *args, "--yes") == 0
    [refresh] = calls(project, "refresh")
    up = calls(project, "up")[-1]
    assert refresh["lab_env"] == {}
    assert up["lab_env"] == {"SYNAPSE_ML_LAB_RESET_NOTEBOOKS": "1"}
    assert targets(up) == [urn("c", "student001")]


def repair_module_args(project, args):
    from classroom.__main__ import build_parser

    return build_parser().parse_args([*args, "--root", str(project)])


def test_the_advice_names_the_class_whatever_section_the_student_is_in():
    from classroom.checking import checks

    assert checks.class_of("spring") == "spring"
    assert checks.class_of("spring-s2") == "spring"
    assert checks.class_of("spring-s12") == "spring"
    assert checks.class_of("spring-s1") == "spring-s1"  # section 1 is the class stack itself
    assert checks.class_of("lab-sx") == "lab-sx"
    assert checks.class_of("") == "<class>"
    env = checks.Environment.from_output(
        "ann",
        {
            "subscription": "s",
            "resourceGroup": "rg",
            "synapseWorkspace": "ws",
            "synapseStudioUrl": "https://web.azuresynapse.net",
            "sparkPool": "p",
            "dataLake": "dl",
            "amlWorkspace": "aml",
            "amlStudioUrl": "https://ml.azure.com",
        },
        stack="spring-s3",
    )
    assert checks.repair_command(env).startswith(
        "run `python -m classroom repair --stack spring --student ann`"
    )
    assert checks.up_command(env) == "run `python -m classroom up --stack spring --student ann`"


def test_a_section_never_deployed_is_not_repaired_but_deployed(project, capsys):
    write_class(project, "c", roster(6), **{"lab:sectionSize": 3})
    assert run(project, "up", "--stack", "c", "--section", "c") == 0  # c-s2 never deployed
    assert run(project, "repair", "--stack", "c", "--student", "student004") == 1
    err = capsys.readouterr().err
    assert "section c-s2 has no stack yet" in err
    assert "python -m classroom up --stack c --section c-s2" in err
    assert "not repaired: student004" in err
    assert [flag(c, "--stack") for c in calls(project, "refresh")] == []  # absent: nothing to run


def test_the_status_report_can_come_from_standard_input():
    report = {
        "students": [
            {"student": "ann", "ready": False},
            {"student": "ben", "ready": True},
            {"student": "cy", "ready": False},
            {"student": "ann", "ready": False},
        ]
    }
    assert repair_module.read_status("-", io.StringIO(json.dumps(report))) == ["ann", "cy"]
    try:
        repair_module.read_status("-", io.StringIO("not json"))
    except repair_module.DriverError as error:
        assert "standard input is not JSON" in str(error)
    else:
        raise AssertionError("a report that is not JSON must be refused")


def test_student_and_status_together_is_a_usage_error(project, tmp_path, capsys):
    deployed(project, "c", 3)
    path = tmp_path / "status.json"
    path.write_text(json.dumps({"students": []}))
    code = run(project, "repair", "--stack", "c", "--student", "student000", "--status", str(path))
    assert code == 2 and "not both" in capsys.readouterr().err
