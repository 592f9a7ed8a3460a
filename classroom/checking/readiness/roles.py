"""The access check: the student's role assignments in ARM and in Synapse RBAC, as Azure decides
them (through groups, inherited, or stronger), judged by access.py."""

from __future__ import annotations

import contextlib

from lab.roles import CONTRIBUTOR, OWNER

from .. import access
from .base import _Skip, _StudentBase
from .model import NOT_READY, READY, WARNING, repair_command, up_command


class _Roles(_StudentBase):
    """The access group: ARM role assignments, then Synapse RBAC."""

    def check_roles(self) -> None:
        """Each access of access.NEEDS, as Azure decides it: through groups, inherited, or stronger."""
        env = self.env
        if not env.object_id:
            self.warn(
                "access",
                f"no objectId for student '{env.student}' in the roster: the student cannot sign "
                f"in to this environment (add it to lab:students and {up_command(env)})",
            )
            return
        groups: set[str] = set()
        for need in access.NEEDS:
            if need.plane != access.ARM or not need.applies(env):
                continue
            try:
                found = self._arm_assignments(need.scope(env))
            except _Skip:
                continue
            # The groups through which the student holds roles (for Synapse RBAC, which cannot expand them).
            groups |= {a.principal for a in found if a.principal.lower() != env.object_id.lower()}
            self._verdict(access.judge(need, env, env.object_id, found, fix=repair_command(env)))
        if env.principal_type != "Group":
            with contextlib.suppress(_Skip):
                self._too_much_inside()
        if self.workspace_ready and not self.studio_unreachable:
            for need in access.NEEDS:
                if need.plane == access.SYNAPSE:
                    with contextlib.suppress(_Skip):
                        found = self._synapse_assignments(need)
                        self._verdict(
                            access.judge(
                                need, env, env.object_id, found, sorted(groups), repair_command(env)
                            )
                        )

    def _too_much_inside(self) -> None:
        """Contributor or Owner on a resource inside the student's group (a pool, the workspace):
        the needs above list only what applies at or above their scopes, so a role granted by
        hand on one resource would go unseen. ``principalId eq`` lists the student's own
        assignments at, above and below the group (see tests/fakes/azure.py for the source)."""
        from ..readonly import AuthorizationManagementClient

        env = self.env
        group = env.resource_group_id.lower()
        with AuthorizationManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            found = self.call(
                "access",
                f"role assignments inside {env.resource_group}",
                "Azure Resource Manager",
                lambda: list(
                    client.role_assignments.list_for_scope(
                        env.resource_group_id, filter=f"principalId eq '{env.object_id}'"
                    )
                ),
            )
        for a in (access.Assignment.from_arm(item) for item in found):
            if a.role in (CONTRIBUTOR, OWNER) and a.scope.lower().startswith(group + "/"):
                name = access.role_name(a.role)
                self.warn(
                    "access",
                    f"the student is {name} on '{a.scope}': more access than the lab needs (that "
                    "role can scale pools and change or create resources there); remove it with "
                    f"`az role assignment delete --assignee {env.object_id} --role {name} "
                    f"--scope {a.scope}`",
                )

    def _verdict(self, verdict: access.Verdict) -> None:
        {READY: self.note, WARNING: self.warn, NOT_READY: self.problem}[verdict.severity](
            "access", verdict.sentence
        )

    def _arm_assignments(self, scope: str) -> list[access.Assignment]:
        """The assignments at or above ``scope`` that apply to the student, its groups' included.

        A student who is a group (principalType Group) is listed with atScope() alone and kept by
        id: assignedTo() accepts no group's id, and atScope() cannot be combined with principalId eq
        (see tests/fakes/azure.py for the sources)."""
        from ..readonly import AuthorizationManagementClient

        env = self.env
        oid = str(env.object_id)
        group = env.principal_type == "Group"
        query = "atScope()" if group else f"atScope() and assignedTo('{oid}')"
        with AuthorizationManagementClient(
            self.credential, env.subscription, **self.arm_kwargs()
        ) as client:
            found = self.call(
                "access",
                f"role assignments on {scope.rsplit('/', 1)[-1]}",
                "Azure Resource Manager",
                lambda: list(client.role_assignments.list_for_scope(scope, filter=query)),
            )
        result = [access.Assignment.from_arm(a) for a in found]
        return [a for a in result if not group or a.principal.lower() == oid.lower()]

    def _synapse_assignments(self, need: access.Need) -> list[access.Assignment]:
        from azure.synapse.accesscontrol import AccessControlClient

        env = self.env
        endpoint = self.endpoints.synapse.format(workspace=env.synapse_workspace)
        client = AccessControlClient(self.credential, endpoint, **self.settings.client_kwargs())
        try:
            found = []
            for role in need.roles_for(
                env
            ):  # no principal filter: an assignment to a group counts too
                page = self.call(
                    "access",
                    f"Synapse role assignments of workspace '{env.synapse_workspace}'",
                    "Synapse",
                    lambda role=role: client.role_assignments.list_role_assignments(
                        role_id=role, scope=need.scope(env)
                    ),
                )
                found += [
                    access.Assignment.from_synapse(a, env.synapse_workspace)
                    for a in (page.value or [])
                ]
        finally:
            client.close()
        return found
