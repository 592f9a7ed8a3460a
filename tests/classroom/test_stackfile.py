"""The one reader of Pulumi.<stack>.yaml: YAML and config problems as `file:line: the problem`."""

from __future__ import annotations

import pytest

from classroom.stackfile import (
    StackFileError,
    config_errors,
    config_lines,
    locate_problems,
    read_stack_file,
)

ADVICE = "fix the YAML (indent with spaces, not tabs; quote a value that holds ': ')"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "config:\n  lab:course: a: b\n",
            "2: mapping values are not allowed here (column 16)",
        ),
        (
            "config:\n  azure-native:location: westeurope\n\tlab:expiresOn: '2099-01-01'\n",
            "3: found character '\\t' that cannot start any token (column 1) while scanning for "
            "the next token",
        ),
        (
            'config:\n  lab:course: "ml\n',
            "3: found unexpected end of stream (column 1) while scanning a quoted scalar that "
            "starts at line 2",
        ),
        (
            "config:\n  lab:students:\n  - id: ann\n   - id: bob\n",
            "4: expected <block end>, but found '<block sequence start>' (column 4) while "
            "parsing a block mapping that starts at line 2",
        ),
    ],
)
def test_a_yaml_syntax_error_is_one_line_with_file_and_line(tmp_path, text, expected):
    path = tmp_path / "Pulumi.spring.yaml"
    path.write_text(text)
    with pytest.raises(StackFileError) as info:
        read_stack_file(path)
    assert str(info.value) == f"{path}:{expected}: {ADVICE}"
    assert "\n" not in str(info.value)


def test_config_problems_are_located_on_their_keys_line(tmp_path):
    path = tmp_path / "Pulumi.spring.yaml"
    path.write_text(
        "# a class\nconfig:\n  azure-native:location: westeurop\n  lab:students:\n    - id: Ann\n"
    )
    assert config_lines(path) == {"azure-native:location": 3, "lab:students": 4}
    problems = [
        "azure-native:location = 'westeurop' is not an Azure region",
        'lab:students[0].id = "Ann" is not allowed',
        "lab:expiresOn is not set",
    ]
    assert locate_problems(path, problems) == [
        f"{path}:3: azure-native:location = 'westeurop' is not an Azure region",
        f'{path}:4: lab:students[0].id = "Ann" is not allowed',
        "lab:expiresOn is not set",
    ]
    assert config_errors(path, problems[2:]) == "error: lab:expiresOn is not set"
