"""Hardening fixtures: blobs go to a per-test folder, and a registered model, as in the registry tests."""

from tests.registry.conftest import media_root, model  # noqa: F401 (fixtures, re-exported)
