"""Keep the providers' old module paths importable for stacks created before the layout change.

A dynamic resource's state holds its provider pickled with dill, and a provider
class (and its ``RetrySettings``) is pickled by reference to its module. Until the
providers moved to ``providers/``, those references read
``components.synapse_artifacts.<module>``; the provider process of a later
``pulumi up``/``destroy`` must still find them there, or it cannot unpickle the
old state and the update or delete fails.

:func:`install` puts an alias of each moved module into ``sys.modules`` under its
old name (plus a package for ``components.synapse_artifacts``), so an old
reference resolves to the very class that new state names by its new path.
``components/__init__.py`` calls it: importing ``components.synapse_artifacts.x``
imports ``components`` first. Nothing new may be added under the old names.
"""

from __future__ import annotations

import importlib
import sys
import types

OLD_PACKAGE = "components.synapse_artifacts"
# old module (under OLD_PACKAGE) -> the module it lives in now
MOVED = {
    "_base": "providers.base",
    "_client": "providers.client",
    "artifacts": "providers.synapse.artifacts",
    "linked_service": "providers.synapse.linked_service",
    "rbac": "providers.synapse.rbac",
    "sql_pool": "providers.synapse.sql_pool",
    "cleanup": "providers.arm.purges",
}


def install() -> None:
    """Register the old names (idempotent)."""
    if OLD_PACKAGE in sys.modules:
        return
    package = types.ModuleType(
        OLD_PACKAGE, "Old import path of the providers (see providers.legacy_paths)."
    )
    package.__path__ = []  # a package, so `import components.synapse_artifacts.x` looks in sys.modules
    for old, new in MOVED.items():
        module = importlib.import_module(new)
        sys.modules[f"{OLD_PACKAGE}.{old}"] = module
        setattr(package, old, module)
    sys.modules[OLD_PACKAGE] = package
