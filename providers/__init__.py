"""Dynamic providers: what azure-native cannot express, run by the engine in a provider process.

- :mod:`providers.base`: the pickler guard every lab dynamic resource needs, the
  engine's wire format, diffing.
- :mod:`providers.client`: the one bounded retry loop, endpoints and the SDK clients
  (built inside each call: providers are serialised with dill).
- :mod:`providers.credentials`: the one Azure credential of the providers and the
  classroom tools (GitHub OIDC per Entra token in CI, else DefaultAzureCredential).
- :mod:`providers.synapse`: the Synapse workspace's data plane (linked service,
  notebooks and SQL scripts, Synapse RBAC) and the SQL pool's pause.
- :mod:`providers.arm`: the teardown purges (ML workspace, Log Analytics, Key Vault).

A provider class is pickled by reference to its module; state written before the
providers moved here names the old paths, which :mod:`providers.legacy_paths` keeps
importable. Importing these packages declares no resource.
"""
