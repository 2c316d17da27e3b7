"""`manage.py send_notification_digests`: e-mail each person their digest of unread notifications.

The same as the daily beat task: at most one digest per person per UTC day, so running it again (or
alongside the task) sends nothing twice.
"""

from django.core.management.base import BaseCommand

from workflow.services import inbox


class Command(BaseCommand):
    help = "E-mail each person with unread notifications one digest (at most once a day per person)."

    def handle(self, *args, **options):
        sent = inbox.digests_send()
        if sent:
            self.stdout.write(f"Sent {len(sent)} digest(s): {', '.join(sent)}")
        else:
            self.stdout.write("No digest due: nobody with unread notifications is without today's digest.")
