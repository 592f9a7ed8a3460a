"""Sections: a class split into stacks of at most N students, with stable membership."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from classroom.__main__ import main as classroom_main
from classroom.running.sections import assign, load_class, section_stacks
from lab.config import ConfigError, parse

FLOOR = {"azure-native:location": "westeurope", "lab:expiresOn": "2026-12-31"}


def roster(n: int, start: int = 0) -> list[str]:
    return [f"student{i:03d}" for i in range(start, start + n)]


def write_class(root: Path, name: str, ids: list[str], **extra) -> Path:
    config = {**FLOOR, "lab:students": [{"id": i} for i in ids], **extra}
    path = root / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


@pytest.mark.parametrize(
    "size, expected",
    [
        (1, {"c": 1}),
        (24, {"c": 24}),
        (25, {"c": 25}),
        (26, {"c": 25, "c-s2": 1}),
        (200, {"c": 25, **{f"c-s{k}": 25 for k in range(2, 9)}}),
        (201, {"c": 25, **{f"c-s{k}": 25 for k in range(2, 9)}, "c-s9": 1}),
    ],
)
def test_rosters_split_into_sections_of_at_most_25(size, expected):
    ids = roster(size)
    sections = assign(ids, {}, 25, "c")
    assert {name: len(members) for name, members in sections.items()} == expected
    assert list(sections) == list(expected)  # the class stack first, then -s2, -s3, ...
    # Everyone exactly once, and a fresh class fills in roster order.
    assert [sid for members in sections.values() for sid in members] == ids


def test_removing_a_student_in_the_middle_moves_nobody():
    before = assign(roster(200), {}, 25, "c")
    ids = roster(200)
    ids.remove("student060")
    after = assign(ids, before, 25, "c")
    assert "student060" in before["c-s3"]
    for name, members in before.items():
        assert after[name] == [s for s in members if s != "student060"]


def test_adding_a_student_in_the_middle_takes_a_free_place_and_moves_nobody():
    before = assign(roster(200), {}, 25, "c")
    ids = roster(200)
    ids.remove("student060")
    with_gap = assign(ids, before, 25, "c")
    ids.insert(10, "newcomer")  # in the middle of the roster, before most others
    after = assign(ids, with_gap, 25, "c")
    assert after["c-s3"] == with_gap["c-s3"] + ["newcomer"]  # the place student060 freed
    for name in before:
        if name != "c-s3":
            assert after[name] == before[name]


def test_a_full_class_grows_by_a_new_section_and_a_small_class_keeps_its_stack():
    small = assign(roster(25), {}, 25, "c")
    grown = assign(["first"] + roster(25), small, 25, "c")  # added at the top of the roster
    assert grown == {"c": roster(25), "c-s2": ["first"]}
    full = assign(roster(200), {}, 25, "c")
    more = assign(roster(200) + ["extra1", "extra2"], full, 25, "c")
    assert more["c-s9"] == ["extra1", "extra2"]
    assert all(more[n] == full[n] for n in full)


def test_a_smaller_section_size_moves_nobody_already_placed():
    before = assign(roster(50), {}, 25, "c")
    after = assign(roster(50) + ["late"], before, 10, "c")
    assert after["c"] == before["c"] and after["c-s2"] == before["c-s2"]
    assert after["c-s3"] == ["late"]


def test_a_section_emptied_by_removals_stays_until_refilled():
    before = assign(roster(30), {}, 25, "c")
    emptied = assign(roster(25), before, 25, "c")
    assert emptied == {"c": roster(25), "c-s2": []}
    refilled = assign(roster(25) + ["back"], emptied, 25, "c")
    assert refilled["c-s2"] == ["back"]


def test_a_lock_naming_a_student_twice_or_a_foreign_stack_is_refused():
    from classroom.running.sections import SectionError

    with pytest.raises(SectionError, match="listed twice"):
        assign(["a"], {"c": ["a"], "c-s2": ["a"]}, 25, "c")
    with pytest.raises(SectionError, match="not a section name"):
        assign(["a"], {"other-s2": ["a"]}, 25, "c")


def test_section_stacks_reads_the_class_and_its_lock(tmp_path):
    write_class(tmp_path, "spring", roster(30))
    assert section_stacks("spring", tmp_path) == {"spring": roster(25), "spring-s2": roster(5, 25)}
    assert load_class("spring", tmp_path).write_lock()
    # The roster changes after the lock was committed: a student leaves section 1, two join.
    ids = roster(30)
    ids.remove("student003")
    write_class(tmp_path, "spring", ["joiner1"] + ids + ["joiner2"])
    assert section_stacks("spring", tmp_path) == {
        "spring": [s for s in roster(25) if s != "student003"] + ["joiner1"],
        "spring-s2": roster(5, 25) + ["joiner2"],
    }


def test_a_small_class_is_its_own_stack_with_its_own_config(tmp_path):
    path = write_class(tmp_path, "dev", ["ann", "bob"])
    klass = load_class("dev", tmp_path)
    assert section_stacks("dev", tmp_path) == {"dev": ["ann", "bob"]}
    assert klass.config_file("dev", ["ann", "bob"]) == path
    assert klass.write_section_config("dev", ["ann", "bob"]) == path
    assert yaml.safe_load(path.read_text())["config"]["lab:students"] == [
        {"id": "ann"},
        {"id": "bob"},
    ]


def test_a_stack_without_a_roster_is_one_student_named_after_it(tmp_path):
    (tmp_path / "Pulumi.ann.yaml").write_text(yaml.safe_dump({"config": FLOOR}))
    assert section_stacks("ann", tmp_path) == {"ann": ["ann"]}


def test_sections_json_is_exactly_the_documented_shape(tmp_path, capsys):
    write_class(tmp_path, "c", roster(26), **{"lab:sectionSize": 13})
    assert classroom_main(["sections", "--stack", "c", "--json", "--root", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data == {"sections": {"c": roster(13), "c-s2": roster(13, 13)}}


def test_sections_write_and_check(tmp_path, capsys):
    write_class(tmp_path, "c", roster(30))
    assert classroom_main(["sections", "--stack", "c", "--check", "--root", str(tmp_path)]) == 1
    assert classroom_main(["sections", "--stack", "c", "--write", "--root", str(tmp_path)]) == 0
    lock = yaml.safe_load((tmp_path / "Pulumi.c.sections.yaml").read_text())
    assert lock == {
        "class": "c",
        "sectionSize": 25,
        "sections": {"c": roster(25), "c-s2": roster(5, 25)},
    }
    # Sections run by parallel CI jobs need the class's salt committed before they start.
    assert classroom_main(["sections", "--stack", "c", "--check", "--root", str(tmp_path)]) == 1
    assert "has no encryptionsalt" in capsys.readouterr().err
    path = tmp_path / "Pulumi.c.yaml"
    path.write_text(path.read_text() + "encryptionsalt: v1:c2FsdA==:v1:check\n")
    assert classroom_main(["sections", "--stack", "c", "--check", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "c-s2" in out and "30 students in 2 section(s)" in out


def test_a_bad_class_config_is_reported_with_every_problem(tmp_path, capsys):
    write_class(tmp_path, "c", ["ann", "Bad Id"], **{"lab:sectionSize": 0, "lab:expiresOn": "soon"})
    assert classroom_main(["sections", "--stack", "c", "--root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "lab:sectionSize = '0' is not allowed" in err
    assert "lab:expiresOn = 'soon'" in err and '"Bad Id"' in err


def test_section_configs_share_the_class_settings_salt_and_secrets(tmp_path):
    secure = {"secure": "v1:ciphertext-of-the-class"}
    path = write_class(
        tmp_path, "c", roster(30), **{"lab:sqlAdminPassword": secure, "lab:course": "dp-100"}
    )
    document = yaml.safe_load(path.read_text())
    document["encryptionsalt"] = "v1:classsalt:v1:check"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    klass = load_class("c", tmp_path)
    first = klass.write_section_config("c", klass.sections()["c"])
    second = klass.write_section_config("c-s2", klass.sections()["c-s2"])
    assert first == tmp_path / ".classroom" / "c" / "Pulumi.c.yaml"  # never the instructor's file
    assert second == tmp_path / "Pulumi.c-s2.yaml"
    assert yaml.safe_load(path.read_text()) == document  # the class file is untouched
    for generated, ids in ((first, roster(25)), (second, roster(5, 25))):
        data = yaml.safe_load(generated.read_text())
        assert generated.read_text().startswith("# GENERATED")
        assert data["encryptionsalt"] == "v1:classsalt:v1:check"
        assert data["config"]["lab:sqlAdminPassword"] == secure
        assert data["config"]["lab:course"] == "dp-100"
        assert [s["id"] for s in data["config"]["lab:students"]] == ids


def test_subscription_capacity_holds_across_sections(tmp_path):
    subs = [
        {"id": "11111111-1111-1111-1111-111111111111", "capacity": 30},
        {"id": "22222222-2222-2222-2222-222222222222", "capacity": 30},
    ]
    write_class(tmp_path, "c", roster(60), **{"lab:subscriptions": subs})
    klass = load_class("c", tmp_path)
    used: Counter = Counter()
    for name, ids in klass.sections().items():
        students = klass.section_document(name, ids)["config"]["lab:students"]
        assert all("subscription" in s for s in students)  # pinned from the class-wide placement
        used.update(s["subscription"] for s in students)
        # Each section alone is valid config for the program.
        section = parse(
            {
                "students": json.dumps(students),
                "expiresOn": "2026-12-31",
                "subscriptions": json.dumps(subs),
            },
            location="westeurope",
            stack_name=name,
        )
        assert {s.id: section.placement[s.id] for s in section.students} == {
            s["id"]: s["subscription"] for s in students
        }
    assert used == Counter({s["id"]: 30 for s in subs})


def test_section_size_is_validated_and_a_too_large_stack_warns():
    base = {"expiresOn": "2026-12-31", "allowedIpRanges": '["10.0.0.0-10.0.0.255"]'}
    with pytest.raises(ConfigError, match="lab:sectionSize = '-3' is not allowed"):
        parse({**base, "sectionSize": "-3"}, location="westeurope", stack_name="c")
    students = json.dumps([{"id": s} for s in roster(30)])
    settings = parse({**base, "students": students}, location="westeurope", stack_name="c")
    assert settings.section_size == 25
    [warning] = settings.warnings()
    assert "30 students, more than lab:sectionSize (25)" in warning
    assert "python -m classroom up --stack <class>" in warning
    assert (
        parse(
            {**base, "students": students, "sectionSize": "30"},
            location="westeurope",
            stack_name="c",
        ).warnings()
        == []
    )
