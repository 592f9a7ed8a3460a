"""The offline plan: declared resources per student and a cost estimate from the price table."""

from __future__ import annotations

import json

import pytest
import yaml

from classroom.__main__ import main as classroom_main
from classroom.planning import plan as plan_cli
from classroom.planning.costs import PriceTable

PRICES = PriceTable.load()
# The assumed lab-progress log volume per student and lab hour (costs.py), in bytes:
# workspace 10 x 2,500 + 20 x 4,000 + 2 x 1,500 + 30 x 1,500, Spark pool 5 x 2,000,
# SQL pool 300 x 2,000.
WORKSPACE_LOG_BYTES = 25_000 + 80_000 + 3_000 + 45_000
PROGRESS_MB_PER_HOUR = (WORKSPACE_LOG_BYTES + 10_000 + 600_000) / 1e6  # 0.763


def write_stack(tmp_path, **overrides):
    config = {
        "azure-native:location": "westeurope",
        "lab:expiresOn": "2026-12-20",
        "lab:students": [{"id": "alice"}, {"id": "bob"}, {"id": "carol"}],
    }
    config.update(overrides)
    path = tmp_path / "Pulumi.class.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    return path


def run_json(capsys, *args):
    assert classroom_main(["plan", *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_plan_lists_each_students_resources_and_costs(tmp_path, capsys):
    data = run_json(
        capsys,
        "--config",
        str(write_stack(tmp_path)),
        "--stack",
        "class",
        "--hours",
        "3",
        "--days",
        "10",
    )
    assert [s["student"] for s in data["students"]] == ["alice", "bob", "carol"]
    region = PRICES.regions["westeurope"]
    expected_hourly = (
        12 * region["spark_vcore_hour"]
        + region["sql_dw100c_hour"]
        + 2 * region["vm_hour"]["Standard_DS3_v2"]
        + PROGRESS_MB_PER_HOUR / 1000 * region["log_analytics_gb"]
    )
    for s in data["students"]:
        types = [r["type"] for r in s["resources"]]
        assert types.count("azure-native:synapse:BigDataPool") == 1
        assert types.count("azure-native:resources:ResourceGroup") == 1
        assert any(r["name"].startswith("synapse") for r in s["resources"])
        assert s["cost"]["inUsePerHour"] == pytest.approx(expected_hourly, abs=1e-3)
        assert s["cost"]["idlePerDay"] > 0
        assert s["cost"]["total"] == pytest.approx(
            3 * s["cost"]["inUsePerHour"] + 10 * s["cost"]["idlePerDay"], abs=0.01
        )
    assert data["class"]["students"] == 3
    assert data["class"]["inUsePerHour"] == pytest.approx(3 * expected_hourly, abs=0.01)
    assert data["class"]["resources"] == sum(len(s["resources"]) for s in data["students"]) + len(
        data["shared"]
    )
    assert data["prices"]["currency"] == "USD" and data["prices"]["readOn"] == PRICES.read_on
    assert "not a diff" in data["notice"] and "pulumi preview" in data["notice"]


def test_cost_follows_the_declared_resources(tmp_path, capsys):
    data = run_json(
        capsys,
        "--config",
        str(
            write_stack(
                tmp_path,
                **{"lab:dedicatedSqlPool": False, "lab:amlComputeVmSize": "Standard_DS11_v2"},
            )
        ),
        "--stack",
        "class",
    )
    region = PRICES.regions["westeurope"]
    items = {
        i["item"].split(":")[0]: i["amount"] for i in data["students"][0]["cost"]["inUseItems"]
    }
    assert not any(k.startswith("dedicated SQL pool") for k in items)
    assert items["AutoML compute automl-cluster"] == pytest.approx(
        2 * region["vm_hour"]["Standard_DS11_v2"], abs=1e-4
    )


def test_text_output_says_it_is_a_plan(tmp_path, capsys):
    assert classroom_main(["plan", "--config", str(write_stack(tmp_path)), "--stack", "class"]) == 0
    out = capsys.readouterr().out
    words = " ".join(out.split())  # the notice is wrapped to short lines
    assert "it is not a diff against Azure. `pulumi preview` shows the real changes" in words
    assert all(len(line) <= 100 for line in out.splitlines()[:4])
    assert "student alice:" in out and "class of 3 students:" in out and "USD an hour" in out


def test_unknown_region_is_a_clear_error(tmp_path, capsys):
    assert (
        classroom_main(
            [
                "plan",
                "--config",
                str(write_stack(tmp_path, **{"azure-native:location": "brazilsouth"})),
                "--stack",
                "class",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "no prices for region 'brazilsouth'" in err and "westeurope" in err


def test_unknown_vm_size_is_a_clear_error(tmp_path, capsys):
    assert (
        classroom_main(
            [
                "plan",
                "--config",
                str(write_stack(tmp_path, **{"lab:amlComputeVmSize": "Standard_NC6"})),
                "--stack",
                "class",
            ]
        )
        == 2
    )
    assert "no price for VM size 'Standard_NC6'" in capsys.readouterr().err


def test_config_errors_are_reported_not_raised(tmp_path, capsys):
    assert (
        classroom_main(
            [
                "plan",
                "--config",
                str(write_stack(tmp_path, **{"lab:sparkVersion": "2.4"})),
                "--stack",
                "class",
            ]
        )
        == 2
    )
    assert 'lab:sparkVersion = "2.4" is retired' in capsys.readouterr().err


def test_encrypted_password_gets_a_stand_in(tmp_path, capsys):
    path = write_stack(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["config"]["lab:sqlAdminPassword"] = {"secure": "v1:abcdef=="}
    path.write_text(yaml.safe_dump(doc))
    config, secret_keys = plan_cli.load_stack_config("class", path)
    assert secret_keys == ("lab:sqlAdminPassword",)
    data = run_json(capsys, "--config", str(path), "--stack", "class")
    assert not any(r["type"].endswith("RandomPassword") for r in data["shared"])


def test_shipped_stack_plans(capsys):
    data = run_json(capsys, "--stack", "dev", "--days", "1")
    assert [s["student"] for s in data["students"]] == ["student01"]
    assert data["region"] == "westeurope"


# --- the quotas a class needs (issue 22) ---


def _quotas(capsys, tmp_path, **overrides):
    return run_json(
        capsys, "--config", str(write_stack(tmp_path, **overrides)), "--stack", "class"
    )["quotas"]


def test_plan_names_the_quotas_of_one_student_for_two_vm_sizes(tmp_path, capsys):
    (ds3,) = _quotas(capsys, tmp_path, **{"lab:students": [{"id": "ann"}]})
    assert ds3 == {
        "subscription": "(default)",
        "students": 1,
        "synapseWorkspaces": 1,
        "sparkVCoresPerWorkspace": 16,  # autoscale to 4 Small nodes of 4 vCores
        "sparkVCores": 16,
        "dedicatedSqlDwu": 100,
        "amlDedicatedVCpusByFamily": {"standardDSv2Family": 8},  # 2 nodes x 4 vCPUs
        "amlNodes": {
            "Standard_DS3_v2": {"family": "standardDSv2Family", "vCpusPerNode": 4, "nodes": 2}
        },
    }
    (ds11,) = _quotas(
        capsys,
        tmp_path,
        **{"lab:students": [{"id": "ann"}], "lab:amlComputeVmSize": "Standard_DS11_v2"},
    )
    assert ds11["amlDedicatedVCpusByFamily"] == {"standardDSv2Family": 4}  # 2 nodes x 2 vCPUs
    assert ds11["amlNodes"]["Standard_DS11_v2"]["vCpusPerNode"] == 2


def test_quota_figures_of_200_students_over_two_subscriptions(tmp_path, capsys):
    from classroom.planning.plan import plan
    from classroom.planning.quotas import class_quotas, render_quotas

    _, (one,), _ = plan("class", write_stack(tmp_path, **{"lab:students": [{"id": "ann"}]}))
    # The one student's declared resources, as 200 students in two subscriptions would declare them.
    students = [("sub-a" if n < 120 else "sub-b", one.resources) for n in range(200)]
    a, b = class_quotas(students)
    assert (a.subscription, a.students, b.students) == ("sub-a", 120, 80)
    assert a.aml_vcpus == {"standardDSv2Family": 120 * 2 * 4}  # 960 dedicated vCPUs
    assert b.aml_vcpus == {"standardDSv2Family": 640}
    assert (a.synapse_workspaces, a.spark_vcores, a.dwu) == (120, 120 * 16, 120 * 100)
    assert a.spark_vcores_per_workspace == 16
    text = "\n".join(render_quotas([a.as_dict(), b.as_dict()]))
    assert "standardDSv2Family: 960 (240 nodes of Standard_DS3_v2, 4 vCPUs each)" in text
    assert "Synapse workspaces: 80" in text and "dedicated SQL pool DWU: 8000" in text


def test_an_unknown_vm_size_is_said_to_be_unknown_offline(tmp_path):
    import copy

    from classroom.planning.plan import plan
    from classroom.planning.quotas import class_quotas, render_quotas

    _, (one,), _ = plan("class", write_stack(tmp_path, **{"lab:students": [{"id": "ann"}]}))
    resources = copy.deepcopy(one.resources)
    compute = next(r for r in resources if r.type.endswith("machinelearningservices:Compute"))
    compute.inputs["properties"]["properties"]["vmSize"] = "Standard_NC6s_v3"
    (q,) = class_quotas([("sub", resources)])
    assert q.aml_vcpus == {"unknown: Standard_NC6s_v3": 0}
    assert "vCPUs unknown offline" in "\n".join(render_quotas([q.as_dict()]))


# --- what the cost guard caps (issue 20) ---


def test_plan_shows_what_the_cost_guard_caps(tmp_path, capsys):
    path = write_stack(
        tmp_path,
        **{
            "lab:pauseSqlPoolAt": ["23:00", "12:30"],
            "lab:budget": {"amountPerStudent": 40, "contactEmails": ["t@example.org"]},
        },
    )
    args = ["--config", str(path), "--stack", "class", "--days", "10", "--class-ends", "17:00"]
    data = run_json(capsys, *args)
    per_hour = PRICES.regions["westeurope"]["sql_dw100c_hour"]
    g = data["costGuard"]
    assert g["sqlPoolPerHour"] == round(per_hour, 2)
    assert g["pauseAt"] == ["12:30", "23:00"]
    assert g["forgottenPoolPerDayWithout"] == round(24 * per_hour, 2)
    assert g["forgottenPoolUntilExpiryWithout"] == round(240 * per_hour, 2)
    # Forgotten at 17:00: paused at 23:00, 6 hours later.
    assert g["forgottenPoolHoursWith"] == 6
    assert g["forgottenPoolWith"] == round(6 * per_hour, 2)
    # Resumed right after the 23:00 pause: it runs until 12:30, 13.5 hours.
    assert g["forgottenPoolWorstCaseWith"] == round(13.5 * per_hour, 2)
    assert g["budgetsTotal"] == 120.0 and g["budgetPerStudent"] == 40.0

    assert classroom_main(["plan", *args]) == 0
    text = capsys.readouterr().out
    assert f"without a pause schedule: {24 * per_hour:.2f} USD a day" in text
    assert "budgets: 40.00 USD per student, 120.00 USD for the class" in text


def test_plan_without_a_sql_pool_or_schedule_says_so(tmp_path, capsys):
    off = run_json(
        capsys,
        "--config",
        str(write_stack(tmp_path, **{"lab:pauseSqlPoolAt": []})),
        "--stack",
        "class",
    )["costGuard"]
    assert off["forgottenPoolWith"] is None and off["forgottenPoolPerDayWithout"] > 0
    none = run_json(
        capsys,
        "--config",
        str(write_stack(tmp_path, **{"lab:dedicatedSqlPool": False})),
        "--stack",
        "class",
    )["costGuard"]
    assert none["sqlPool"] is False and none["forgottenPoolPerDayWithout"] == 0


def test_plan_shows_the_lab_progress_logs_on_their_own_line(tmp_path, capsys):
    stack = str(write_stack(tmp_path))
    data = run_json(capsys, "--config", stack, "--stack", "class", "--hours", "3", "--days", "10")
    price = PRICES.regions["westeurope"]["log_analytics_gb"]
    assert price == 2.99
    for s in data["students"]:
        assert s["cost"]["progressLogMbPerLabHour"] == pytest.approx(0.763)
        (line,) = [i for i in s["cost"]["inUseItems"] if i["item"].startswith("lab-progress logs")]
        assert line["amount"] == pytest.approx(round(0.763e-3 * price, 4))
    logs = data["progressLogs"]
    assert logs["mbPerStudentPerLabHour"] == pytest.approx(0.763)
    # 3 students x 0.763 MB x 3 lab hours = 6.867 MB
    assert logs["gbForClass"] == pytest.approx(0.0069, abs=1e-4)
    assert logs["pricePerGb"] == price and logs["cost"] == pytest.approx(0.02)
    assert (logs["freeGbPerMonth"], logs["freePer"]) == (5, "billing account")
    assert logs["withinFreeGrant"] is True
    assert "azure.microsoft.com/pricing/details/monitor" in logs["freeSource"]
    assert classroom_main(["plan", "--config", stack, "--stack", "class", "--hours", "3"]) == 0
    out = capsys.readouterr().out
    assert (
        "  lab-progress logs: ~0.76 MB per student per lab hour,\n"
        "    0.007 GB for the class in 3 hours in use: 0.02 USD at 2.99 USD/GB (in the in-use "
        "figure)\n    the first 5 GB a month per billing account are free" in out
    )


def test_progress_logs_follow_the_declared_settings(tmp_path, capsys):
    data = run_json(
        capsys,
        "--config",
        str(write_stack(tmp_path, **{"lab:dedicatedSqlPool": False})),
        "--stack",
        "class",
    )
    # No SQL pool, no ExecRequests: only the workspace's and the Spark pool's categories.
    assert data["progressLogs"]["mbPerStudentPerLabHour"] == pytest.approx(
        (WORKSPACE_LOG_BYTES + 10_000) / 1e6
    )


def test_a_big_class_outgrows_the_free_grant():
    from classroom.planning.costs import StudentCost

    students = [
        plan_cli.StudentPlan(f"s{i}", [], StudentCost(progress_log_mb_per_hour=0.763))
        for i in range(200)
    ]
    # 200 x 0.763 MB x 40 hours = 6.104 GB, beyond the 5 free GB.
    logs = plan_cli.progress_logs(students, PRICES, "westeurope", 40)
    assert logs["gbForClass"] == pytest.approx(6.104)
    assert logs["cost"] == pytest.approx(round(6.104 * 2.99, 2))
    assert logs["withinFreeGrant"] is False
    assert plan_cli.progress_logs(students, PRICES, "westeurope", 30)["withinFreeGrant"] is True


def test_a_category_without_an_assumption_is_never_estimated_at_zero():
    from classroom.planning.costs import PROGRESS_LOG_ROWS_PER_LAB_HOUR, progress_log_mb_per_hour
    from lab import diagnostics

    assert set(PROGRESS_LOG_ROWS_PER_LAB_HOUR) == set(diagnostics.TABLES)
    new = {"logs": [{"category": "SomethingNew", "enabled": True}]}
    assert progress_log_mb_per_hour(new) == pytest.approx(0.6)  # the largest: ExecRequests
    off = {"logs": [{"category": "ExecRequests", "enabled": False}]}
    assert progress_log_mb_per_hour(off) == 0


# --- warnings, plain words and arguments (issue 29) ---


def test_the_programs_warnings_are_in_the_plan_and_its_json(tmp_path, capsys):
    path = write_stack(tmp_path, **{"lab:pauseSqlPoolAt": []})
    data = run_json(capsys, "--config", str(path), "--stack", "class", "--days", "2")
    assert [w.split(":")[0] + ":" + w.split(":")[1].split(" ")[0] for w in data["warnings"]] == [
        "lab:allowedIpRanges",
        "lab:pauseSqlPoolAt",
    ]
    assert data["expired"] is False
    assert classroom_main(["plan", "--config", str(path), "--stack", "class"]) == 0
    out = capsys.readouterr().out.splitlines()
    start = out.index("2 warnings (`pulumi preview` shows them too):")
    assert out[start + 1].startswith("  - lab:allowedIpRanges is not set: every Synapse workspace")
    assert all(len(line) <= 100 for line in out[start:])


def test_an_expired_class_still_plans_but_exits_1(tmp_path, capsys):
    path = write_stack(tmp_path, **{"lab:expiresOn": "2020-01-31"})
    assert classroom_main(["plan", "--config", str(path), "--stack", "class", "--json"]) == 1
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["expired"] is True and data["assumptions"]["days"] == 1
    assert any(
        w.startswith("lab:expiresOn (2020-01-31) has passed: the environments of 3 students")
        for w in data["warnings"]
    )
    assert captured.err.startswith("error: lab:expiresOn (2020-01-31) has passed")


def test_costs_are_worded_plainly(tmp_path, capsys):
    path = write_stack(tmp_path, **{"lab:students": [{"id": "ann"}]})
    args = ["plan", "--config", str(path), "--stack", "class", "--hours", "3", "--days", "1"]
    assert classroom_main(args) == 0
    out = capsys.readouterr().out
    assert "(s)" not in out and "1 days" not in out
    data = run_json(capsys, *args[1:])
    k = data["class"]
    lines = out.splitlines()
    at = lines.index(f"class of 1 student: {k['resources']} resources")
    assert lines[at + 4 : at + 7] == [
        f"  estimate: {k['total']:.2f} USD in all =",
        f"    {k['inUseTotal']:.2f} USD for 3 hours in use "
        "(--hours: all the lab sessions together, not per day)",
        f"  + {k['idleTotal']:.2f} USD for 1 day idle (--days, how long they exist: as given)",
    ]
    assert k["inUseTotal"] == pytest.approx(3 * k["inUsePerHour"], abs=0.02)  # both rounded
    assert k["total"] == pytest.approx(k["inUseTotal"] + k["idleTotal"], abs=0.011)
    assert "  subscription (default): 1 student" in lines
    # Where the prices come from: short lines, not one sentence.
    prices = lines[lines.index(next(x for x in lines if x.startswith("Prices in USD"))) :][:3]
    assert prices == [
        "Prices in USD: Azure retail prices (pay-as-you-go list prices, Linux VMs)",
        f"  westeurope: approximate figures compiled by hand, read {PRICES.read_on}",
        "  to read today's: python -m classroom prices --region westeurope",
    ]


def test_days_default_to_the_expiry_date_and_say_so(tmp_path, capsys):
    import datetime as dt

    expires = dt.date.today() + dt.timedelta(days=9)
    path = write_stack(tmp_path, **{"lab:expiresOn": expires.isoformat()})
    assert classroom_main(["plan", "--config", str(path), "--stack", "class"]) == 0
    out = capsys.readouterr().out
    assert f"for 9 days idle (--days, how long they exist: until lab:expiresOn {expires})" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--class-ends", "9am"], "'9am' is not a time HH:MM"),
        (["--class-ends", "24:00"], "'24:00' is not a time HH:MM"),
        (["--hours", "-3"], "'-3' is not a number above 0"),
        (["--days", "0"], "'0' is not a number above 0"),
        (["--days", "inf"], "'inf' is not a number above 0"),
    ],
)
def test_wrong_arguments_stop_before_planning(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        classroom_main(["plan", "--config", str(write_stack(tmp_path)), *argv])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "usage:" not in err


def test_a_config_problem_names_its_line(tmp_path, capsys):
    path = write_stack(tmp_path, **{"lab:sparkVersion": "2.4"})
    line = path.read_text().splitlines().index("  lab:sparkVersion: '2.4'") + 1
    assert classroom_main(["plan", "--config", str(path), "--stack", "class"]) == 2
    assert capsys.readouterr().err.startswith(f'error: {path}:{line}: lab:sparkVersion = "2.4"')
