"""Pulumi component resources: one student's lab environment and the parts it is made of.

- :mod:`components.lab_environment`: ``LabEnvironment``, everything one student needs;
- :mod:`components.data_lake`, :mod:`components.synapse`,
  :mod:`components.machine_learning`, :mod:`components.access`,
  :mod:`components.data_plane`: its parts;
- :mod:`components.roles`: the one way to grant a role (no SQL password exists:
  every workspace is Microsoft Entra-only, :mod:`components.synapse`);
- :mod:`components.subscription`, :mod:`components.custom_roles`: what each
  subscription needs once, the project's custom role definitions among it,
  handed to each environment placed there.
"""

# Stacks created before the providers moved to providers/ name them by their old
# paths under components.synapse_artifacts: keep those importable.
from providers import legacy_paths as _legacy_paths

_legacy_paths.install()
