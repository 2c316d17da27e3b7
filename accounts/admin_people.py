"""People in the admin console: users, the five roles, and teams, each on its own page.

Roles and teams are both Django groups underneath (a role is the group named after it, a team owns a
``team:<name>`` group), which is why raw Django admin listed them together. Here roles are the fixed
groups of ``accounts.roles`` (members edited, never added or deleted), teams are the ``Team`` records,
and every change goes through ``accounts.services.accounts``, audited as the services audit it:
``user.created``, ``user.changed``, ``auth.password_changed``, ``user.roles_changed``, ``team.created``,
``team.changed``, ``team.member_added`` / ``team.member_removed``. Neither people nor teams are deleted
here: their names stand in the audit trail and on signatures; a person who leaves is deactivated.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Prefetch, When

from accounts import access, context
from accounts.admin_support import ROLE_LABELS, GuardedServiceAdmin, ServiceAdmin, role_label
from accounts.models import Team, User
from accounts.roles import ROLE_NAMES, ROLES, Role
from accounts.services import accounts

ROLE_PURPOSES = {role: spec.purpose for role, spec in ROLES.items()}
ADMINISTERING = access.ACTION_ROLES["administer"]
MEMBERS_SHOWN = 12
ROLE_ORDER = Case(*(When(name=role, then=index) for index, role in enumerate(Role)), default=len(Role))


def _members_text(users) -> str:
    names = [user.username for user in users]
    more = len(names) - MEMBERS_SHOWN
    return ", ".join(names[:MEMBERS_SHOWN]) + (f" and {more} more" if more > 0 else "") or "—"


def _people() -> forms.ModelMultipleChoiceField:
    return forms.ModelMultipleChoiceField(
        queryset=User.objects.order_by("username"),
        required=False,
        widget=FilteredSelectMultiple("people", is_stacked=False),
        label="Members",
    )


OWN_ROLE_KEPT = "You cannot remove your own administrator role; ask another administrator."


def _removes_own_admin_role(actor: User | None, user: User, roles: set[str]) -> bool:
    """An administrator taking away their own role would lock themselves out of this console."""
    return bool(
        actor and user.pk == actor.pk and access.may(actor, "administer") and not roles & ADMINISTERING
    )


# --- users -----------------------------------------------------------------------------------------


class UserForm(UserChangeForm):
    """A user's details, with roles and teams as boxes (instead of one list of groups)."""

    roles = forms.MultipleChoiceField(
        choices=list(ROLE_LABELS.items()), widget=forms.CheckboxSelectMultiple, required=False
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.order_by("name"), widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta(UserChangeForm.Meta):
        model = User
        fields = (
            "username",
            "password",
            "first_name",
            "last_name",
            "email",
            "is_active",
            "is_staff",
            "is_superuser",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["roles"].initial = sorted(
                self.instance.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True)
            )
            self.fields["teams"].initial = list(Team.objects.filter(group__user=self.instance))

    def clean_roles(self):
        roles = self.cleaned_data["roles"]
        if self.instance.pk and _removes_own_admin_role(
            getattr(self, "actor", None), self.instance, set(roles)
        ):
            raise ValidationError(OWN_ROLE_KEPT)
        return roles


class PasswordForm(AdminPasswordChangeForm):
    """Django's set-password page, saving through ``user_password_set`` so the change is audited."""

    def save(self, commit=True):
        # Django's view builds this form from the target user alone; the administrator is the request's
        # actor, which the session middleware put in the context.
        actor = User.objects.filter(pk=context.current().actor_id).first()
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        accounts.user_password_set(actor=actor, user=self.user, password=password)
        return self.user


class RoleFilter(admin.SimpleListFilter):
    title = "role"
    parameter_name = "role"

    def lookups(self, request, model_admin):
        return list(ROLE_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(groups__name=self.value()) if self.value() else queryset


class TeamFilter(admin.SimpleListFilter):
    title = "team"
    parameter_name = "team"

    def lookups(self, request, model_admin):
        return [(team.name, team.name) for team in Team.objects.order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(groups__team__name=self.value()) if self.value() else queryset


class UserAdmin(DjangoUserAdmin, ServiceAdmin):
    """People: their name as printed beside a signature, roles and teams apart, every change through the
    account services. Never deleted: a person who leaves is deactivated (``is_active``)."""

    section = "people"
    section_position = 1
    form = UserForm
    change_password_form = PasswordForm
    list_display = ("username", "printed_name", "email", "role_list", "team_list", "is_active", "last_login")
    list_filter = ("is_active", RoleFilter, TeamFilter, "is_staff")
    search_fields = ("username", "first_name", "last_name", "email")
    filter_horizontal = ()
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Name and email", {"fields": ("first_name", "last_name", "email")}),
        (
            "Roles and teams",
            {
                "fields": ("roles", "teams"),
                "description": "Roles say what a person may do; teams say which models they work on.",
            },
        ),
        (
            "Console access",
            {
                "fields": ("is_active", "is_staff", "is_superuser"),
                "description": "Staff status opens this console; administrators also need the Administrator role.",
            },
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    readonly_fields = ("last_login", "date_joined")

    @admin.display(description="printed name", ordering="last_name")
    def printed_name(self, user: User) -> str:
        return user.printed_name

    @admin.display(description="roles")
    def role_list(self, user: User) -> str:
        return ", ".join(role_label(g.name) for g in user.groups.all() if g.name in ROLE_NAMES) or "—"

    @admin.display(description="teams")
    def team_list(self, user: User) -> str:
        return ", ".join(g.team.name for g in user.groups.all() if hasattr(g, "team")) or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups__team")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            password = data["password1"] if data.get("set_usable_password", True) else None
            created = accounts.user_create(actor=request.user, username=data["username"], password=password)
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        details = {name: data[name] for name in form.changed_data if name in accounts.USER_FIELDS}
        accounts.user_update(actor=request.user, user=User.objects.get(pk=obj.pk), **details)
        if "roles" in form.changed_data:
            accounts.user_set_roles(actor=request.user, user=obj, roles=list(form.cleaned_data["roles"]))
        if "teams" in form.changed_data:
            wanted = set(form.cleaned_data["teams"])
            current = set(Team.objects.filter(group__user=obj))
            for team in sorted(wanted - current, key=str):
                accounts.team_add_member(actor=request.user, team=team, user=obj)
            for team in sorted(current - wanted, key=str):
                accounts.team_remove_member(actor=request.user, team=team, user=obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # a class made for this request: the form checks the actor's own role
        return form


# --- roles -------------------------------------------------------------------------------------------


class RoleForm(forms.ModelForm):
    members = _people()

    class Meta:
        model = Group
        fields = ()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = list(self.instance.user_set.all())

    def clean_members(self):
        members = set(self.cleaned_data["members"])
        actor = getattr(self, "actor", None)
        leaving = self.instance.name in ADMINISTERING and actor is not None and actor not in members
        kept = access.roles_of(actor) - {self.instance.name} if leaving else set()
        if leaving and _removes_own_admin_role(actor, actor, kept):
            raise ValidationError(OWN_ROLE_KEPT)
        return self.cleaned_data["members"]


class RoleAdmin(ServiceAdmin):
    """The five fixed roles: what each is for and may do, and who holds it. Roles are never added or
    deleted here; changing who holds one is ``user_set_roles``, audited per person."""

    section = "people"
    section_position = 2
    form = RoleForm
    list_display = ("title", "purpose", "member_count", "members")
    list_display_links = ("title",)
    readonly_fields = ("title", "name", "purpose", "may")
    fields = ("title", "name", "purpose", "may", "members")
    search_fields = ("name",)

    def get_queryset(self, request):
        members = Prefetch("user_set", queryset=User.objects.order_by("username").only("id", "username"))
        return (
            super()
            .get_queryset(request)
            .filter(name__in=ROLE_NAMES)
            .annotate(member_count=Count("user"), position=ROLE_ORDER)
            .order_by("position")
            .prefetch_related(members)
        )

    @admin.display(description="role", ordering="name")
    def title(self, group: Group) -> str:
        return role_label(group.name)

    @admin.display(description="what it is for")
    def purpose(self, group: Group) -> str:
        return ROLE_PURPOSES.get(group.name, "")

    @admin.display(description="may")
    def may(self, group: Group) -> str:
        actions = [
            action.replace("_", " ") for action, roles in access.ACTION_ROLES.items() if group.name in roles
        ]
        return ", ".join(actions) or "—"

    @admin.display(description="people", ordering="member_count")
    def member_count(self, group: Group) -> int:
        return group.member_count

    @admin.display(description="who")
    def members(self, group: Group) -> str:
        return _members_text(group.user_set.all())

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        wanted = set(form.cleaned_data["members"])
        current = set(obj.user_set.all())
        for user in sorted(wanted ^ current, key=lambda person: person.username):
            roles = set(user.groups.filter(name__in=ROLE_NAMES).values_list("name", flat=True))
            roles = roles | {obj.name} if user in wanted else roles - {obj.name}
            accounts.user_set_roles(actor=request.user, user=user, roles=sorted(roles))

    def save_related(self, request, form, formsets, change):
        pass  # membership was saved through the service in save_model

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user  # a class made for this request: the form checks the actor's own role
        return form


# --- teams -------------------------------------------------------------------------------------------


class TeamForm(forms.ModelForm):
    members = _people()

    class Meta:
        model = Team
        fields = ("name", "title", "description")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["members"].initial = list(self.instance.group.user_set.all())


class TeamAdmin(GuardedServiceAdmin):
    """Teams own models. Created with ``team_create``, changed with ``team_update``; members added and
    removed with the account services (one audited event per person); a team is never deleted here (its
    models point at it)."""

    section = "people"
    section_position = 3
    form = TeamForm
    list_display = ("name", "title", "member_count", "members", "created_at")
    search_fields = ("name", "title")
    readonly_fields = ("created_at",)

    def get_queryset(self, request):
        members = Prefetch(
            "group__user_set", queryset=User.objects.order_by("username").only("id", "username")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("group")
            .annotate(member_count=Count("group__user"))
            .prefetch_related(members)
        )

    @admin.display(description="people", ordering="member_count")
    def member_count(self, team: Team) -> int:
        return team.member_count

    @admin.display(description="who")
    def members(self, team: Team) -> str:
        return _members_text(team.group.user_set.all())

    def get_readonly_fields(self, request, obj=None):
        return ("name", "created_at") if obj is not None else ()

    def get_fields(self, request, obj=None):
        return ("name", "title", "description", "members", *(("created_at",) if obj else ()))

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            details = {name: data[name] for name in form.changed_data if name in accounts.TEAM_FIELDS}
            accounts.team_update(actor=request.user, team=Team.objects.get(pk=obj.pk), **details)
            return
        created = accounts.team_create(
            actor=request.user, name=data["name"], title=data["title"], description=data["description"]
        )
        obj.pk, obj.group = created.pk, created.group
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        team = form.instance
        wanted = set(form.cleaned_data["members"])
        current = set(team.group.user_set.all())
        for user in sorted(wanted - current, key=lambda person: person.username):
            accounts.team_add_member(actor=request.user, team=team, user=user)
        for user in sorted(current - wanted, key=lambda person: person.username):
            accounts.team_remove_member(actor=request.user, team=team, user=user)
