"""Registry writes. Every function is one transaction that checks permission and writes its audit event.

Services raise ``django.core.exceptions.ValidationError`` (a 400 naming the field) for bad input and
``PermissionDenied`` (403) when the actor may see the object but not do this to it. Callers fetch objects
through the selectors first, so an object the actor may not see never gets here (404).
"""
