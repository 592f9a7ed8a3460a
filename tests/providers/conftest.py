"""Fixtures of the provider tests: the fake Synapse/ARM server over real HTTPS."""

from tests.fakes.synapse import credential, fake, tls_files

__all__ = ["credential", "fake", "tls_files"]
