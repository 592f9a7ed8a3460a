"""The readiness check's parts, by what each reads; classroom/checking/checks.py puts them together."""
