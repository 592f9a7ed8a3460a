"""Artifact names: one rule (the REST spec's, ARTIFACT_NAME_RE) for declared names and kept copies.

The fake Synapse refuses a PUT whose name breaks the spec's rule (tests/fakes/synapse.py,
ARTIFACT_NAME), so every copy the provider keeps in these tests went through it.
"""

from __future__ import annotations

import datetime

import pytest

from providers.synapse.artifacts import (
    ARTIFACT_NAME_MAX,
    ARTIFACT_NAME_RE,
    ArtifactDefinitionError,
    WorkspaceArtifactsProvider,
    copy_name,
    validate_artifact_name,
)
from tests.fakes.synapse import FAST, to_wire, write_notebook
from tests.providers.test_synapse_artifacts import artifacts_inputs, with_hashes

DAY = datetime.date(2026, 12, 8)


@pytest.mark.parametrize(
    "name",
    ["01-load-data", "Load weather forecast", "_x", "02-train-automl (your copy 2026-12-08 20)"],
)
def test_names_synapse_takes(name):
    assert validate_artifact_name("notebook", name) == name


@pytest.mark.parametrize(
    "name", ["", "v1.2", "a/b", "a:b", "a+b", "a#b", "a%b", "(copy)", " lead", "a" * 261]
)
def test_names_synapse_refuses_are_a_clear_error(name):
    with pytest.raises(ArtifactDefinitionError, match=r"is not allowed: 1-260 characters"):
        validate_artifact_name("notebook", name)


def test_every_copy_name_of_the_longest_name_fits_the_rule():
    longest = "N" * ARTIFACT_NAME_MAX
    for attempt in range(1, 21):
        name = copy_name(longest, DAY, attempt)
        assert len(name) <= ARTIFACT_NAME_MAX and ARTIFACT_NAME_RE.match(name)
        assert name.endswith(f"(your copy 2026-12-08{'' if attempt == 1 else f' {attempt}'})")
    assert copy_name("03-predict", DAY) == "03-predict (your copy 2026-12-08)"  # short: untouched


def edited_then_new_course_version(fake, tmp_path, name):
    """A notebook called ``name``, edited by the student, then changed by the instructor."""
    provider = WorkspaceArtifactsProvider(FAST)
    inputs = artifacts_inputs(
        fake, tmp_path, notebooks={name: {"path": "notebooks/01-load-data.ipynb"}}, sql_scripts={}
    )
    created = provider.create(to_wire(inputs))
    fake.studio_save("notebooks", name, cell=2, text="mine()\n")
    write_notebook(
        tmp_path / "notebooks" / "01-load-data.ipynb", {"data_lake_account": "x"}, body="v2()\n"
    )
    return provider, created, with_hashes(inputs)


def test_the_copy_of_a_long_notebook_name_is_kept_under_a_valid_name(fake, tmp_path):
    name = "Lab notebook " + "x" * (ARTIFACT_NAME_MAX - 13)  # as long as a name may be
    provider, created, news = edited_then_new_course_version(fake, tmp_path, name)

    outs = provider.update(created.id, to_wire(created.outs), to_wire(news)).outs

    [kept] = outs["kept_copies"]
    assert len(kept) == ARTIFACT_NAME_MAX and "(your copy " in kept
    stored = fake.artifacts["notebooks"][kept]["properties"]["cells"]
    assert "".join(stored[2]["source"]) == "mine()\n"  # the fake took the name: the rule held
    assert (
        "".join(fake.artifacts["notebooks"][name]["properties"]["cells"][2]["source"]) == "v2()\n"
    )


def test_a_copy_name_synapse_would_refuse_stops_before_anything_is_sent(fake, tmp_path):
    provider, created, news = edited_then_new_course_version(fake, tmp_path, "lab-v2")
    # A name from before the rule, with a character Synapse refuses (moved, as it would be).
    fake.artifacts["notebooks"]["lab.v2"] = fake.artifacts["notebooks"].pop("lab-v2")
    olds = {**created.outs, "notebooks": {"lab.v2": created.outs["notebooks"]["lab-v2"]}}
    news = {**news, "notebooks": {"lab.v2": news["notebooks"]["lab-v2"]}}
    fake.reset_log()

    with pytest.raises(
        ArtifactDefinitionError, match=r"copy of notebook 'lab.v2' name .* not allowed"
    ):
        provider.update(created.id, to_wire(olds), to_wire(news))
    assert fake.writes() == []
