"""components.roles.assign_role: the one way the program grants a role, and the rules it applies."""

from __future__ import annotations

import pytest

from classroom.planning.simulate import FAKE_SUBSCRIPTION
from components.roles import assign_role
from lab import roles


def test_assign_role_refuses_owner_and_subscription_scope():
    with pytest.raises(ValueError, match="never grants Owner"):
        assign_role(
            "x",
            role_id=roles.OWNER,
            principal_id="p",
            principal_type="User",
            scope="/x",
            subscription_id="s",
            description="",
            opts=None,
        )
    for scope in (
        f"/subscriptions/{FAKE_SUBSCRIPTION}",
        "/",
        "",
        "/providers/Microsoft.Management/managementGroups/school",
    ):
        with pytest.raises(ValueError, match="subscription scope"):
            roles.check_scope(scope)
    assert roles.check_scope(f"/subscriptions/{FAKE_SUBSCRIPTION}/resourceGroups/rg").endswith(
        "/rg"
    )
