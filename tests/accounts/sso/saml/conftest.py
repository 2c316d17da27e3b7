"""Fixtures of the single sign-on tests."""

from tests.accounts.sso.saml_fixtures import browser, corp, saml_idp, sp_key_dir, sp_keys  # noqa: F401
