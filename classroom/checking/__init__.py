"""Checking the class: the readiness checks, `status`, the class page and the handout."""
