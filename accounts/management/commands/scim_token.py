"""``manage.py scim_token create --name okta --provider corp``: a SCIM provisioning client and its bearer
token, printed once (only its SHA-256 is kept). ``scim_token revoke --name okta`` switches one off."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import IdentityProvider, ScimClient
from accounts.services import scim


class Command(BaseCommand):
    help = "Create or revoke a SCIM provisioning client (the identity provider's bearer token)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "revoke"])
        parser.add_argument("--name", required=True, help="A short name, e.g. okta or entra.")
        parser.add_argument(
            "--provider", help="The identity provider (its name) whose group mappings the groups feed."
        )

    def handle(self, *args, action: str, name: str, provider: str | None = None, **options):
        if action == "revoke":
            client = ScimClient.objects.filter(name=name).first()
            if client is None:
                raise CommandError(f"No SCIM client named {name}.")
            scim.client_revoke(actor=None, client=client)
            self.stdout.write(f"SCIM client {name} revoked; its token no longer works.")
            return
        idp = None
        if provider:
            idp = IdentityProvider.objects.filter(name=provider).first()
            if idp is None:
                raise CommandError(f"No identity provider named {provider}.")
        try:
            _client, token = scim.client_create(actor=None, name=name, provider=idp)
        except ValidationError as invalid:
            raise CommandError(" ".join(invalid.messages)) from None
        self.stdout.write(f"SCIM client {name} created. Its bearer token (shown once, store it in the IdP):")
        self.stdout.write(token)
