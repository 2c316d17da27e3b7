"""UI routes of this app."""

urlpatterns: list = []
