"""The project's Pulumi policy pack (``pulumi preview --policy-pack policy``).

A package only so the tests can ``import policy.rules``; Pulumi runs
``policy/__main__.py`` itself, from this folder.
"""
