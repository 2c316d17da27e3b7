"""WSGI entry point for gunicorn."""

import importlib
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application

from config import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# before the application exists: the tracing middleware must be in MIDDLEWARE when Django loads it
tracing.setup("attest-web")
application = get_wsgi_application()

# Import the URLconf (and with it the views and the metrics library) now rather than on the first request:
# with gunicorn's --preload this happens once, before the workers fork, so a worker answers its first
# request (often the readiness probe on /healthz) without a four-second import.
importlib.import_module(settings.ROOT_URLCONF)
