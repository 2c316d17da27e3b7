"""`manage.py seed_demo`: demo users and data for `make run`. Idempotent; refused outside demo mode."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from governance import demo
from governance.demo_workflow import seed_workflow
from registry.demo import seed_registry  # a command may reach up the layers; governance's modules may not


class Command(BaseCommand):
    help = "Create the demo users, teams and data (only with ATTEST_DEMO=1; existing records are kept)."

    def handle(self, *args, **options):
        if not settings.ATTEST_DEMO:
            raise CommandError(
                "Refusing to create demo data: ATTEST_DEMO is not set (it is set by `make run`)."
            )
        created = demo.seed_users()
        if created:
            self.stdout.write(f"Created demo users: {', '.join(created)}")
        else:
            self.stdout.write("Demo users already exist.")
        self.stdout.write(seed_registry())
        self.stdout.write(seed_workflow())
