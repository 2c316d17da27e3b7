"""``/scim/v2/``: the SCIM 2.0 service (RFC 7644 §3.2). Paths take an optional trailing slash, as
identity providers differ."""

from django.urls import path, re_path

from accounts.scim import views

urlpatterns = [
    path("", views.NotFoundView.as_view(), name="scim-root"),
    re_path(r"^ServiceProviderConfig/?$", views.ServiceProviderConfigView.as_view(), name="scim-config"),
    re_path(r"^ResourceTypes/?$", views.ResourceTypesView.as_view(), name="scim-resource-types"),
    re_path(r"^ResourceTypes/(?P<name>[^/]+)/?$", views.ResourceTypesView.as_view()),
    re_path(r"^Schemas/?$", views.SchemasView.as_view(), name="scim-schemas"),
    re_path(r"^Schemas/(?P<name>[^/]+)/?$", views.SchemasView.as_view()),
    re_path(r"^Users/?$", views.UsersView.as_view(), name="scim-users"),
    re_path(r"^Users/(?P<user_id>[^/.][^/]*)/?$", views.UserView.as_view(), name="scim-user"),
    re_path(r"^Groups/?$", views.GroupsView.as_view(), name="scim-groups"),
    re_path(r"^Groups/(?P<group_id>[^/.][^/]*)/?$", views.GroupView.as_view(), name="scim-group"),
    # everything else (POST /.search included) is a SCIM error, not the site's HTML 404
    re_path(r"^.*$", views.NotFoundView.as_view()),
]
