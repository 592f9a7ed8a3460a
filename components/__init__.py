"""Pulumi component resources: one student's lab environment and the parts it is made of.

- :mod:`components.lab_environment`: ``LabEnvironment``, everything one student needs;
- :mod:`components.data_lake`, :mod:`components.synapse`,
  :mod:`components.machine_learning`, :mod:`components.access`,
  :mod:`components.data_plane`: its parts;
- :mod:`components.roles`, :mod:`components.credentials`: the one way to grant a
  role and the SQL admin password;
- :mod:`components.custom_roles`: the project's custom role definitions, declared
  once per subscription by ``__main__`` and handed to each environment.
"""

# Stacks created before the providers moved to providers/ name them by their old
# paths under components.synapse_artifacts: keep those importable.
from providers import legacy_paths as _legacy_paths

_legacy_paths.install()
