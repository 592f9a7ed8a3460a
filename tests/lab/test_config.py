"""Config validation: every bad value stops the program with a message naming key, value and rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from classroom.planning.simulate import run_program
from lab.config import ConfigError, LabSettings, parse, password_problems

LOCATION = "westeurope"
GOOD = {"expiresOn": "2026-12-20"}


def settings(**raw) -> LabSettings:
    return parse({**GOOD, **raw}, location=LOCATION, stack_name="dev")


def problems(**raw) -> list[str]:
    with pytest.raises(ConfigError) as info:
        settings(**raw)
    return info.value.problems


def test_defaults_are_the_labs():
    s = settings()
    assert s.students[0].id == "dev"
    assert s.students[0].object_id is None
    assert s.spark_version == "3.5"
    assert s.sql_admin_login == "SQLUser"
    assert s.dedicated_sql_pool is True
    assert s.resource_group_prefix == "dp000"
    assert s.expires_on == dt.date(2026, 12, 20)
    assert s.allowed_ip_ranges == ()
    assert s.firewall_open_to_all is True
    assert s.aml_compute_vm_size == "Standard_DS3_v2"
    assert s.sql_admin_password is None


def test_stack_name_is_normalised_into_a_student_id():
    s = parse(GOOD, location=LOCATION, stack_name="Class_2026 Autumn!!--Group-A-extra-long")
    assert s.students[0].id == "class-2026-autumn-gr"
    assert parse(GOOD, location=LOCATION, stack_name="___").students[0].id == "student"


def test_students_with_object_ids_are_read():
    s = settings(
        students='[{"id": "alice", "objectId": "0A1B2C3D-0000-4000-8000-000000000001"}, {"id": "bob-2"}]'
    )
    assert [st.id for st in s.students] == ["alice", "bob-2"]
    assert s.students[0].object_id == "0a1b2c3d-0000-4000-8000-000000000001"
    assert s.students[0].principal_type == "User"
    assert s.students[1].object_id is None


@pytest.mark.parametrize("bad_id", ["Alice", "a" * 21, "bob_1", "", "-bob", "bob-", "bo b"])
def test_bad_student_id(bad_id):
    found = problems(students=f'[{{"id": "{bad_id}"}}]')
    assert len(found) == 1
    assert f'lab:students[0].id = "{bad_id}"' in found[0]
    assert "1-20 characters of lowercase letters, digits and '-'" in found[0]


def test_duplicate_student_ids():
    found = problems(students='[{"id": "alice"}, {"id": "bob"}, {"id": "alice"}]')
    assert found == ['lab:students[2].id = "alice" is a duplicate: student ids must be unique']


def test_bad_object_id():
    found = problems(students='[{"id": "alice", "objectId": "not-a-guid"}]')
    assert found[0].startswith('lab:students[0].objectId = "not-a-guid" is not a GUID')


def test_unknown_student_key_and_bad_principal_type():
    found = problems(
        students='[{"id": "alice", "objectid": "x"}, {"id": "bob", "principalType": "Owner"}]'
    )
    assert "lab:students[0] has unknown key(s) objectid" in found[0]
    assert 'lab:students[1].principalType = "Owner" is not allowed: User or Group' in found[1]


def test_students_not_a_list():
    assert "must be a non-empty list" in problems(students='{"id": "alice"}')[0]
    assert "is not valid JSON" in problems(students="[alice")[0]


@pytest.mark.parametrize("version", ["2.4", "3.1", "3.2", "3.3", "3.4"])
def test_retired_spark_version(version):
    found = problems(sparkVersion=version)
    assert len(found) == 1
    assert f'lab:sparkVersion = "{version}" is retired' in found[0]
    assert "Supported: 3.5" in found[0]


def test_spark_24_message_names_the_august_2024_cutoff():
    assert "August 2024" in problems(sparkVersion="2.4")[0]


@pytest.mark.parametrize("version", ["4.0", "3.6", "latest"])
def test_unknown_spark_version(version):
    found = problems(sparkVersion=version)
    assert found == [
        f'lab:sparkVersion = "{version}" is not an Azure Synapse Spark runtime. Supported: 3.5'
    ]


@pytest.mark.parametrize(
    "ranges, message",
    [
        ('["10.0.0.300"]', 'lab:allowedIpRanges[0] = "10.0.0.300" is not'),
        ('["10.0.0.9-10.0.0.1"]', "the range starts after it ends"),
        ('["10.0.0.1-10.0.0.2-10.0.0.3"]', 'is not "a.b.c.d" or "a.b.c.d-e.f.g.h"'),
        ('["::1"]', "IPv4"),
        ("[]", "must be a non-empty list"),
        ("[42]", "must be a string"),
    ],
)
def test_bad_ip_range(ranges, message):
    found = problems(allowedIpRanges=ranges)
    assert len(found) == 1 and message in found[0]


def test_ip_ranges_are_normalised():
    s = settings(allowedIpRanges='["203.0.113.7", "198.51.100.0 - 198.51.100.255"]')
    assert s.allowed_ip_ranges == (
        ("203.0.113.7", "203.0.113.7"),
        ("198.51.100.0", "198.51.100.255"),
    )
    assert s.firewall_open_to_all is False


@pytest.mark.parametrize("date", ["2026-13-01", "20/12/2026", "tomorrow"])
def test_bad_date(date):
    assert problems(expiresOn=date) == [f"lab:expiresOn = {date!r} is not an ISO date YYYY-MM-DD"]


def test_missing_expiry_is_reported():
    with pytest.raises(ConfigError) as info:
        parse({}, location=LOCATION, stack_name="dev")
    assert info.value.problems[0].startswith("lab:expiresOn is not set")


@pytest.mark.parametrize("prefix", ["DP000", "0dp", "dp000-", "dp_000", "x" * 31])
def test_bad_prefix(prefix):
    found = problems(resourceGroupPrefix=prefix)
    assert len(found) == 1 and f"lab:resourceGroupPrefix = {prefix!r} is not allowed" in found[0]


@pytest.mark.parametrize(
    "password, rule",
    [
        ("Sh0rt!", "8-128 characters"),
        ("alllowercaseletters", "at least three of"),
        ("ALLUPPER12345", "at least three of"),
        ("MySQLUser-Passw0rd", "must not contain the login name"),
    ],
)
def test_weak_password(password, rule):
    found = problems(sqlAdminPassword=password)
    assert len(found) == 1
    assert found[0].startswith("lab:sqlAdminPassword (secret) is too weak")
    assert rule in found[0]
    assert password not in found[0], "the message must not echo the secret"


def test_strong_password_is_accepted():
    assert password_problems("Tr1cky-Lab-Passw0rd", "SQLUser") == []
    assert (
        settings(sqlAdminPassword="Tr1cky-Lab-Passw0rd").sql_admin_password == "Tr1cky-Lab-Passw0rd"
    )


def test_password_in_plain_text_config_is_refused():
    with pytest.raises(ConfigError) as info:
        parse(
            {**GOOD, "sqlAdminPassword": "Tr1cky-Lab-Passw0rd"},
            location=LOCATION,
            stack_name="dev",
            password_in_plain_text=True,
        )
    assert "pulumi config set --secret lab:sqlAdminPassword" in info.value.problems[0]


@pytest.mark.parametrize("login", ["admin", "sa", "1user", "user name"])
def test_bad_sql_login(login):
    assert f"lab:sqlAdminLogin = {login!r} is not allowed" in problems(sqlAdminLogin=login)[0]


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("dedicatedSqlPool", "maybe", "lab:dedicatedSqlPool = 'maybe' is not a boolean"),
        ("amlComputeVmSize", "DS3", "lab:amlComputeVmSize = 'DS3' is not an Azure VM size"),
        ("deployerIpAddress", "1.2.3", "lab:deployerIpAddress = '1.2.3' is not an IPv4 address"),
        ("deployerPrincipalType", "Robot", "lab:deployerPrincipalType = 'Robot' is not allowed"),
        ("course", "bad\ncourse", "lab:course = 'bad\\ncourse' is not allowed as a tag value"),
    ],
)
def test_other_bad_values(key, value, message):
    found = problems(**{key: value})
    assert len(found) == 1 and found[0].startswith(message)


def test_dedicated_sql_pool_can_be_turned_off():
    assert settings(dedicatedSqlPool="false").dedicated_sql_pool is False


FEATURES = "season,mnth,holiday,weekday,workingday,weathersit,temp,atemp,hum,windspeed"


def test_data_dir_must_hold_the_lab_files(tmp_path: Path):
    (tmp_path / "bike-rentals-training.csv").write_text(
        f"instant,dteday,{FEATURES},rentals\n1,1/1/2011\n"
    )
    found = problems(dataDir=str(tmp_path))
    assert "missing weather-forecast.csv" in found[0]
    (tmp_path / "weather-forecast.csv").write_text("season,mnth,temp\n1,1,0.2\n")
    found = problems(dataDir=str(tmp_path))
    assert (
        "weather-forecast.csv has no column(s) holiday, weekday, workingday, weathersit, atemp, hum, windspeed"
        in found[0]
    )
    (tmp_path / "weather-forecast.csv").write_text(f"{FEATURES}\n")
    assert settings(dataDir=str(tmp_path)).data_dir == tmp_path


def test_shared_lab_data_is_accepted_as_data_dir():
    from tests.conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip(f"lab data not present at {SHARED_DATA}")
    assert settings(dataDir=str(SHARED_DATA)).data_dir == SHARED_DATA


@pytest.mark.parametrize(
    "location, message",
    [
        (None, "azure-native:location is not set"),
        ("West Europe", "is not an Azure region name"),
        (
            "westeurop",
            "azure-native:location = 'westeurop' is not an Azure region: did you mean 'westeurope'?",
        ),
        ("uksouht", "did you mean 'uksouth'?"),
    ],
)
def test_location(location, message):
    with pytest.raises(ConfigError) as info:
        parse(GOOD, location=location, stack_name="dev")
    assert message in info.value.problems[0]


@pytest.mark.parametrize("location", ["westeurope", "swedencentral", "brandnewregion"])
def test_known_and_unlisted_regions_are_accepted(location):
    # an unlisted name unlike any known region may be newer than the list: Azure decides
    assert parse(GOOD, location=location, stack_name="dev").location == location


def test_every_problem_is_reported_at_once():
    found = problems(sparkVersion="2.4", resourceGroupPrefix="BAD", students='[{"id": "A"}]')
    assert len(found) == 3


def test_unknown_key_is_reported():
    with pytest.raises(ConfigError) as info:
        parse(GOOD, location=LOCATION, stack_name="dev", unknown_keys=["sparkVerison"])
    assert info.value.problems[0].startswith("lab:sparkVerison is not a setting of this project")


@pytest.mark.parametrize(
    "typo, nearest",
    [
        ("student", "students"),
        ("Students", "students"),
        ("expireson", "expiresOn"),
        ("sparkVerison", "sparkVersion"),
        ("allowedIPRange", "allowedIpRanges"),
    ],
)
def test_an_unknown_setting_names_the_nearest_and_every_known_one_sorted(typo, nearest):
    with pytest.raises(ConfigError) as info:
        parse(GOOD, location=LOCATION, stack_name="dev", unknown_keys=[typo])
    (problem,) = info.value.problems
    head, known = problem.split(" Known settings: ")
    assert head == f"lab:{typo} is not a setting of this project: did you mean lab:{nearest}?"
    listed = known.split(", ")
    assert listed == sorted(listed, key=str.lower) and "students" in listed
    from lab.config import _CONFIG_KEYS

    assert len(listed) == len(_CONFIG_KEYS)
    # One problem: the error is one line.
    assert str(info.value) == f"the stack's lab configuration has a problem: {problem}"


def test_an_unknown_setting_unlike_any_is_called_a_typo():
    with pytest.raises(ConfigError) as info:
        parse(GOOD, location=LOCATION, stack_name="dev", unknown_keys=["zzzz"])
    assert info.value.problems[0].startswith(
        "lab:zzzz is not a setting of this project (a typo?). Known settings: allowedIpRanges,"
    )


def test_several_problems_are_listed_one_a_line():
    with pytest.raises(ConfigError) as info:
        settings(sparkVersion="2.4", resourceGroupPrefix="BAD")
    lines = str(info.value).splitlines()
    assert lines[0] == "the stack's lab configuration has 2 problems:"
    assert lines[1].startswith('  - lab:sparkVersion = "2.4"') and len(lines) == 3


def test_an_unknown_student_key_names_the_nearest():
    (problem,) = problems(students='[{"id": "alice", "objectid": "x"}]')
    assert problem == (
        "lab:students[0] has unknown key(s) objectid (did you mean objectid -> objectId?); "
        "allowed: id, objectId, principalType, subscription"
    )


def test_an_expired_class_is_worded_in_the_singular_and_plural():
    one = settings(expiresOn="2020-01-01", students='[{"id": "ann"}]')
    two = settings(expiresOn="2020-01-01", students='[{"id": "ann"}, {"id": "bob"}]')
    assert "the environment of 1 student is expired: ann." in one.warnings()[1]
    assert "the environments of 2 students are expired: ann, bob." in two.warnings()[1]


# --- through the real program: a bad config stops it before anything is declared ---


@pytest.mark.parametrize(
    "key, value, fragment",
    [
        ("lab:sparkVersion", "2.4", 'lab:sparkVersion = "2.4" is retired'),
        ("lab:students", [{"id": "ok"}, {"id": "ok"}], "is a duplicate"),
        ("lab:resourceGroupPrefix", "Bad Prefix", "lab:resourceGroupPrefix"),
        ("lab:sparkVerison", "3.5", "lab:sparkVerison is not a setting of this project"),
    ],
)
def test_program_declares_nothing_on_bad_config(base_config, key, value, fragment):
    with pytest.raises(ConfigError) as info:
        run_program({**base_config, key: value})
    assert fragment in str(info.value)
    assert info.value.declared == []


def test_plain_text_password_in_stack_config_stops_the_program(base_config):
    with pytest.raises(ConfigError) as info:
        run_program({**base_config, "lab:sqlAdminPassword": "Tr1cky-Lab-Passw0rd"})
    assert "--secret" in str(info.value)
    # Set as a secret, the same value is accepted.
    sim = run_program(
        {**base_config, "lab:sqlAdminPassword": "Tr1cky-Lab-Passw0rd"},
        secret_keys=("lab:sqlAdminPassword",),
    )
    # ... but no longer used (Entra-only workspaces): preview says to unset it.
    assert "sqlAdminPassword" not in sim.exports
    assert any("lab:sqlAdminPassword is set but no longer used" in w for w in sim.warnings)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["not-a-guid"], 'lab:instructors: "not-a-guid" is not an Entra object id (a GUID'),
        ({"id": "7d3c2b1a-0000-4000-8000-00000000abcd"}, "is not a list of Entra object ids"),
        (
            ["7d3c2b1a-0000-4000-8000-00000000abcd", "7d3c2b1a-0000-4000-8000-00000000abce"],
            "lab:instructors lists 2 ids, but a workspace has one Microsoft Entra admin",
        ),
    ],
)
def test_instructors_must_be_one_entra_object_id(base_config, value, fragment):
    with pytest.raises(ConfigError) as info:
        run_program({**base_config, "lab:instructors": value})
    (problem,) = info.value.problems
    assert fragment in problem and "\n" not in problem
    assert info.value.declared == []


def test_shipped_example_stack_config_runs(base_config):
    import yaml

    from tests.conftest import ROOT

    shipped = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())["config"]
    sim = run_program(shipped, stack="dev")
    assert list(sim.exports["environments"].value) == ["student01"]
    assert sim.one("azure-native:synapse:BigDataPool").inputs["sparkVersion"] == "3.5"


def test_guide_documents_every_setting():
    """The instructor guide's configuration table names every lab: key the program accepts."""
    from lab.config import _CONFIG_KEYS
    from tests.conftest import ROOT

    readme = (ROOT / "docs" / "instructor-guide.md").read_text()
    table = readme[readme.index("| key | default | meaning |") :]
    table = table[: table.index("\n\n")]
    documented = {line.split("`")[1] for line in table.splitlines()[2:]}
    assert documented == {f"lab:{key}" for key in _CONFIG_KEYS} | {"azure-native:location"}
