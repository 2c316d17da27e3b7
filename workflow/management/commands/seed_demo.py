"""`manage.py seed_demo`: demo users and data for `make run`. Idempotent; refused outside demo mode."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts import demo
from registry.demo import seed_registry  # a command may reach up the layers; governance's modules may not
from workflow.demo_llm import seed_llm_demo
from workflow.demo_workflow import seed_workflow


class Command(BaseCommand):
    help = "Create the demo users, teams and data (only with ATTEST_DEMO=1; existing records are kept)."

    def add_arguments(self, parser):
        # `make run` migrates and seeds in one process: each Django start-up with the URLconf's checks
        # costs ~4 s, which is most of a second `make run`.
        parser.add_argument("--migrate", action="store_true", help="Apply pending migrations first.")

    def handle(self, *args, **options):
        if not settings.ATTEST_DEMO:
            raise CommandError(
                "Refusing to create demo data: ATTEST_DEMO is not set (it is set by `make run`)."
            )
        if options["migrate"]:
            call_command("migrate", interactive=False, verbosity=0)
        created = demo.seed_users()
        if created:
            self.stdout.write(f"Created demo users: {', '.join(created)}")
        else:
            self.stdout.write("Demo users already exist.")
        self.stdout.write(seed_registry())
        self.stdout.write(seed_workflow())
        self.stdout.write(seed_llm_demo())
