"""``/scim/v2/``: the SCIM 2.0 service (RFC 7644 §3.2). Paths take an optional trailing slash, as
identity providers differ.

The views load scim2-models at their first request, not at URL loading: importing its pydantic models takes
about 0.7 s, which every web, worker and test process would pay otherwise, most of them never serving SCIM.
"""

from functools import cache

from django.urls import path, re_path
from django.views.decorators.csrf import csrf_exempt


@cache
def _view(name: str):
    from accounts.scim import views

    return getattr(views, name).as_view()


def _lazy(name: str):
    # bearer-token only, never a session: no CSRF token to check (the exemption must be on the view Django
    # resolves, this one)
    @csrf_exempt
    def view(request, *args, **kwargs):
        return _view(name)(request, *args, **kwargs)

    view.__name__ = name
    return view


urlpatterns = [
    path("", _lazy("NotFoundView"), name="scim-root"),
    re_path(r"^ServiceProviderConfig/?$", _lazy("ServiceProviderConfigView"), name="scim-config"),
    re_path(r"^ResourceTypes/?$", _lazy("ResourceTypesView"), name="scim-resource-types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", _lazy("ResourceTypesView")),
    re_path(r"^Schemas/?$", _lazy("SchemasView"), name="scim-schemas"),
    re_path(r"^Schemas/(?P<name>[^/]+)/?$", _lazy("SchemasView")),
    re_path(r"^Users/?$", _lazy("UsersView"), name="scim-users"),
    re_path(r"^Users/(?P<user_id>[^/.][^/]*)/?$", _lazy("UserView"), name="scim-user"),
    re_path(r"^Groups/?$", _lazy("GroupsView"), name="scim-groups"),
    re_path(r"^Groups/(?P<group_id>[^/.][^/]*)/?$", _lazy("GroupView"), name="scim-group"),
    # everything else (POST /.search included) is a SCIM error, not the site's HTML 404
    re_path(r"^.*$", _lazy("NotFoundView")),
]
