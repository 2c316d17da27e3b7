from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """Accounts and access: users, teams, roles, tokens, authenticators, sign-in locks, object grants and
    the access policy every app asks (``accounts.access``)."""

    name = "accounts"
    # The label stays "governance", the name this app had before the workflow moved out to ``workflow``:
    # its tables (governance_user, ...), AUTH_USER_MODEL ("governance.User"), content types, permissions
    # and every applied migration carry the label, so keeping it moves no data at all.
    label = "governance"
    verbose_name = "Accounts and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        import accounts.admin_grants  # noqa: F401  (the admin console's grant pages)
        import config.api.schema  # noqa: F401  (registers the OpenAPI auth extensions)
        from accounts import admin_sso, signals, tasks  # noqa: F401  (receivers, task hooks, the SSO admin pages)
        from accounts.services.roles import ensure_role_groups
        from accounts.sso import checks  # noqa: F401  (check --deploy: SAML needs xmlsec1)

        # Role groups follow accounts.roles after every migrate, so a new role needs no migration.
        post_migrate.connect(ensure_role_groups, sender=self, dispatch_uid="governance-role-groups")
