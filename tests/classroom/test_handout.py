"""The students' handout: each student's own links and first steps, printable, with no secret in it."""

from __future__ import annotations

import json
import re

import pytest

from classroom.__main__ import main as classroom_main
from classroom.checking import environments, handout
from tests.fakes.azure import environment

from .browser import keep

PASSWORD = "Tr0ub4dor&3-not-for-students"


@pytest.fixture
def stack_files(tmp_path):
    outputs = {
        "environments": {"ann": environment("ann"), "bob": environment("bob", sql_pool=None)},
        "sqlAdminLogin": "labadmin",
        "sqlAdminPassword": PASSWORD,
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  lab:course: dp-100 autumn\n  lab:expiresOn: '2026-12-20'\n"
        "  lab:sqlAdminPassword:\n    secure: v1:abc\n  lab:students:\n    - id: ann\n    - id: bob\n"
    )
    return tmp_path, outputs


def test_text_handouts_one_per_student(stack_files, capsys):
    tmp_path, outputs = stack_files
    code = classroom_main(
        [
            "handout",
            "--stack",
            "dev",
            "--outputs",
            str(tmp_path / "outputs.json"),
            "--config",
            str(tmp_path / "Pulumi.dev.yaml"),
            "--text",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ann.txt", "bob.txt"]
    ann = (tmp_path / "out" / "ann.txt").read_text()
    env = outputs["environments"]["ann"]
    assert ann.startswith("Your Azure lab for dp-100 autumn: ann\n")
    assert f"Synapse Studio:    {env['synapseStudioUrl']}" in ann
    assert f"Azure ML studio:   {env['amlStudioUrl']}" in ann
    assert f"/resourceGroups/{env['resourceGroup']}/overview" in ann
    assert "Available until:   2026-12-20" in ann
    steps = re.findall(r"^\d+\. (.*)$", ann, re.M)
    assert f"attached to your Spark pool {env['sparkPool']}" in steps[1]
    assert [s.split(":")[0] for s in steps[2:5]] == [
        "01-prepare-data",
        "02-train-automl",
        "03-predict",
    ]
    assert "automl-cluster" in steps[3]
    # The lab's steps as `classroom progress` names and numbers them (lab/steps.py).
    assert steps[2].endswith(" Lab step 1, Prepare the data.")
    assert steps[3].endswith(
        " Lab step 2, Submit the AutoML job; step 3, Train a model; step 4, Register the model."
    )
    assert steps[4].endswith(" Lab step 5, Write the model for the SQL pool.")
    assert steps[5].startswith("T-SQL part (step 6, Predict rentals in the SQL pool): ")
    assert (
        f"first resume your SQL pool {env['sqlPool']}" in steps[4]
    )  # before 03-predict loads into it
    assert "'Predict rentals'" in steps[5] and "Pause" in steps[5]
    # No lab:pauseSqlPoolAt, no lab:timeZone, no region: the default 23:00, in UTC.
    assert steps[5].endswith(
        "If you forget, it pauses itself every day at 23:00 UTC time (resume it to go on)."
    )
    # Studio saves only on Publish: the student is told so, in plain words.
    assert steps[6] == handout.PUBLISH_STEP
    assert steps[6].startswith("Publish all (top bar) saves your work")
    assert "unpublished changes stay in this browser only" in steps[6]
    bob = (tmp_path / "out" / "bob.txt").read_text()
    assert "Publish all (top bar) saves your work" in bob
    assert "SQL pool" not in bob and "resume" not in bob  # no dedicated SQL pool: no T-SQL step
    for text in (ann, bob):
        assert PASSWORD not in text and "password" not in text.lower() and "labadmin" not in text


def test_printed_handout_is_one_page_per_student(browser, stack_files, tmp_path):
    tmp, outputs = stack_files
    envs = environments.load_environments(
        ["dev"], [tmp / "outputs.json"], [tmp / "Pulumi.dev.yaml"]
    )
    path = handout.write_handout(tmp_path / "handout.html", envs)
    text = path.read_text()
    assert PASSWORD not in text and "password" not in text.lower()
    context = browser.new_context(viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    requests = []
    tab.on("request", lambda r: requests.append(r.url))
    try:
        tab.goto(path.as_uri())
        assert requests == [path.as_uri()]
        sections = tab.locator("section.student")
        assert sections.count() == 2
        ann = tab.locator("#student-ann")
        assert ann.locator("h1").inner_text() == "Your Azure lab for dp-100 autumn: ann"
        assert (
            ann.locator("a.studio").get_attribute("href")
            == outputs["environments"]["ann"]["synapseStudioUrl"]
        )
        assert (
            ann.locator("a.aml").get_attribute("href")
            == outputs["environments"]["ann"]["amlStudioUrl"]
        )
        assert ann.locator("ol li code").first.inner_text() == "bike_data"
        assert ann.locator("ol li").count() == 8 and tab.locator("#student-bob ol li").count() == 7
        assert ann.locator("ol li").nth(6).inner_text() == handout.PUBLISH_STEP
        # Every text readable: contrast of at least 4.5:1 (measured as on the class page).
        from .test_projector import CONTRAST

        measured = tab.evaluate(CONTRAST)
        assert len(measured) > 20 and [m for m in measured if m["ratio"] < 4.5] == []
        pdf = tab.pdf(format="A4")
        assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
        tab.screenshot(path=str(tmp_path / "handout.png"), full_page=True)
        keep(tmp_path / "handout.png", "handout.png")
    finally:
        context.close()


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ("", "23:00 Europe/Amsterdam time"),  # the default time in the region's zone
        (
            "  lab:pauseSqlPoolAt: ['18:30', '23:00']\n  lab:timeZone: Europe/London\n",
            "18:30, 23:00 Europe/London time",
        ),
        ("  lab:pauseSqlPoolAt: '[\"12:00\"]'\n", "12:00 Europe/Amsterdam time"),  # a JSON string
        ("  lab:pauseSqlPoolAt: []\n", ""),  # the schedule turned off
    ],
)
def test_the_handout_says_when_the_pool_pauses_itself(tmp_path, config, words):
    outputs = {
        "environments": {"ann": environment("ann"), "bob": environment("bob", sql_pool=None)}
    }
    (tmp_path / "outputs.json").write_text(json.dumps(outputs))
    (tmp_path / "Pulumi.dev.yaml").write_text(
        "config:\n  azure-native:location: westeurope\n  lab:expiresOn: '2026-12-20'\n" + config
    )
    ann, bob = environments.load_environments(
        ["dev"], [tmp_path / "outputs.json"], [tmp_path / "Pulumi.dev.yaml"]
    )
    assert (ann.pause_at, bob.pause_at) == (words, "")  # bob has no SQL pool
    text = handout.render_text(ann, ["03-predict"], ["Predict rentals"])
    said = "If you forget, it pauses itself every day at"
    assert (f"{said} {words} (resume it to go on)." in text) if words else said not in text
