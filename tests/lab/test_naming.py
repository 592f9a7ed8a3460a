"""Azure's naming rules hold for every name, at the edges of valid prefixes and suffixes."""

from __future__ import annotations

import itertools
import random

import pytest

from lab import naming
from lab.naming import RULES, LabNames


def _prefixes():
    yield "d"
    yield "dp000"
    yield "a" + "-b" * 14 + "c"  # 30 characters, the longest allowed
    yield "z" * 30


def _suffixes():
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    yield "0000000"
    yield "9zzzzzz"
    yield "aaaaaaa"
    for _ in range(200):
        yield "".join(rng.choice(alphabet) for _ in range(7))


@pytest.mark.parametrize("prefix", list(_prefixes()))
def test_every_name_is_valid_for_every_suffix(prefix):
    for suffix in _suffixes():
        names = LabNames(prefix, suffix)
        names.validate()  # raises on any broken rule
        assert len(names.data_lake) <= 24 and names.data_lake.islower()
        assert len(names.spark_pool) <= 15 and names.spark_pool[0].isalpha()
        assert len(names.key_vault) <= 24 and names.key_vault[0].isalpha()
        assert len(names.resource_group) <= 90


def test_names_follow_the_labs_pattern():
    names = LabNames("dp000", "ab12cd3")
    assert names.resource_group == "dp000-ab12cd3"
    assert names.data_lake == "datalakeab12cd3"
    assert names.synapse_workspace == "synapseab12cd3"
    assert names.spark_pool == "sparkab12cd3"
    assert names.sql_pool == "sqlab12cd3"
    assert names.ml_workspace == "amlab12cd3"
    assert names.synapse_managed_resource_group == "dp000-ab12cd3-synapse-managed"


def test_globally_unique_names_differ_per_suffix():
    a, b = LabNames("dp000", "aaaaaaa"), LabNames("dp000", "aaaaaab")
    for attribute in ("data_lake", "synapse_workspace", "key_vault", "ml_storage", "ml_workspace"):
        assert getattr(a, attribute) != getattr(b, attribute)


@pytest.mark.parametrize(
    "prefix, suffix", [("DP", "abcdefg"), ("dp", "ABCDEFG"), ("dp", "abc"), ("1dp", "abcdefg")]
)
def test_invalid_inputs_are_refused(prefix, suffix):
    with pytest.raises(ValueError):
        LabNames(prefix, suffix)


@pytest.mark.parametrize(
    "rule, bad",
    [
        ("storage_account", "Datalake1234567"),
        ("storage_account", "d" * 25),
        ("spark_pool", "spark-abc"),
        ("spark_pool", "s" * 16),
        ("key_vault", "kv--double"),
        ("key_vault", "1kv"),
        ("resource_group", "rg."),
        ("synapse_workspace", "Synapse"),
    ],
)
def test_rules_reject_what_azure_rejects(rule, bad):
    with pytest.raises(ValueError, match="is not a valid"):
        RULES[rule].check(bad)


def test_student_ids_from_stack_names_are_valid():
    for raw in ["dev", "Prod_EU", "a" * 40, "---", "x-y--z", "Ünïcode stack"]:
        sid = naming.normalise_student_id(raw)
        assert naming.STUDENT_ID_RE.fullmatch(sid), (raw, sid)
        assert not sid.startswith("-") and not sid.endswith("-")


def test_suffix_resource_is_random_string_of_seven_lowercase_alnum():
    # Checked on the declared resource in test_lab_environment; here the pattern itself.
    assert all(naming.SUFFIX_RE.fullmatch(s) for s in itertools.islice(_suffixes(), 50))
