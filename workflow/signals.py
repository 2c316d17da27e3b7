"""Signals other apps listen to, so the workflow need not know them (they sit above it)."""

from django.dispatch import Signal

# Sent after the commit of every announced event (``notifications.notify``): event_type, payload (the
# webhook's ``data``). Integrations write Attest's verdict back to the systems models came from.
announced = Signal()
