"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from config import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
tracing.setup("attest-web")  # before the application exists (config.wsgi says why)
application = get_asgi_application()
