"""``/api/v1/findings/{id}/comments/``, ``…/action-plans/``, ``…/extension-requests/``, ``…/attachments/``.

Each lists the records of one finding the user may see (404 for a finding outside their scope) and writes
through ``workflow.services.finding_management``, which decides who may write what.
"""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.models import User
from config.api import inputs
from config.api.viewsets import ScopedViewSet
from registry import storage
from registry.api.common import UploadViewSetMixin, received_upload
from workflow import markdown, selectors
from workflow.models import (
    ActionPlan,
    ExtensionRequest,
    FindingAttachment,
    FindingComment,
    Milestone,
)
from workflow.services import finding_management as management


class FindingChildViewSet(ScopedViewSet):
    """Records of the finding named in the URL (``finding_pk``), which the user must be able to see."""

    record_model: type
    lookup_value_regex = r"[0-9]+"

    def finding(self):
        if not hasattr(self, "_finding"):
            findings = selectors.finding_list(user=self.request.user).select_related("model__owner")
            self._finding = get_object_or_404(findings, pk=self.kwargs["finding_pk"])
        return self._finding

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return self.record_model.objects.none()
        return super().get_queryset().filter(finding=self.finding())


def _user(username: str, field: str = "owner") -> User:
    found = User.objects.filter(username=username, is_active=True).first()
    if found is None:
        raise serializers.ValidationError({field: [f"No active user '{username}'."]})
    return found


# --- comments ----------------------------------------------------------------------------------------


class CommentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    author = serializers.CharField(source="author.username")
    body = serializers.CharField(help_text="Markdown source.")
    body_html = serializers.SerializerMethodField(help_text="The body rendered and sanitised.")
    created_at = serializers.DateTimeField()

    def get_body_html(self, comment) -> str:
        return markdown.to_html(comment.body, top_heading=4)


class FindingCommentViewSet(mixins.ListModelMixin, FindingChildViewSet):
    """A finding's comment thread, oldest first. POST ``{body}`` (Markdown) adds a comment."""

    class Input(inputs.Input):
        body = serializers.CharField(max_length=management.MAX_BODY_CHARS)

    record_model = FindingComment
    selector = staticmethod(selectors.finding_comment_list)
    serializer_class = CommentOutput

    @extend_schema(request=Input, responses={201: CommentOutput})
    def create(self, request, finding_pk=None):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        comment = management.finding_comment_add(
            actor=request.user, finding=self.finding(), body=serializer.validated_data["body"]
        )
        return Response(CommentOutput(comment).data, status=status.HTTP_201_CREATED)


# --- action plans ------------------------------------------------------------------------------------


class MilestoneOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    due_date = serializers.DateField()
    done = serializers.SerializerMethodField()
    done_at = serializers.DateTimeField(allow_null=True)
    done_by = serializers.CharField(source="done_by.username", allow_null=True, default=None)

    def get_done(self, milestone) -> bool:
        return milestone.done_at is not None


class PlanOutput(serializers.Serializer):
    id = serializers.IntegerField()
    owner = serializers.CharField(source="owner.username")
    description = serializers.CharField()
    due_date = serializers.DateField()
    milestones = MilestoneOutput(many=True)
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class MilestoneInput(inputs.Input):
    title = serializers.CharField(max_length=300)
    due_date = serializers.DateField()


class ActionPlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FindingChildViewSet):
    """A finding's action plans. POST ``{owner, description, due_date, milestones: [{title, due_date}]}``
    (the model's first line); PATCH changes owner, description or due date; ``…/milestones/`` adds one and
    ``…/milestones/{milestone_id}/`` ticks one ``{done: true|false}``."""

    class Input(inputs.Input):
        owner = serializers.CharField(max_length=150)
        description = serializers.CharField(max_length=management.MAX_BODY_CHARS)
        due_date = serializers.DateField()
        milestones = serializers.ListField(
            child=MilestoneInput(), max_length=management.MAX_MILESTONES, required=False, default=list
        )

    class UpdateInput(inputs.Input):
        owner = serializers.CharField(max_length=150, required=False)
        description = serializers.CharField(max_length=management.MAX_BODY_CHARS, required=False)
        due_date = serializers.DateField(required=False)

    class DoneInput(inputs.Input):
        done = serializers.BooleanField()

    record_model = ActionPlan
    selector = staticmethod(selectors.action_plan_list)
    serializer_class = PlanOutput

    def _plan_output(self, plan_pk: int) -> dict:
        return PlanOutput(self.get_queryset().get(pk=plan_pk)).data

    @extend_schema(request=Input, responses={201: PlanOutput})
    def create(self, request, finding_pk=None):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        plan = management.action_plan_create(
            actor=request.user,
            finding=self.finding(),
            owner=_user(data["owner"]),
            description=data["description"],
            due_date=data["due_date"],
            milestones=[dict(milestone) for milestone in data["milestones"]],
        )
        return Response(self._plan_output(plan.pk), status=status.HTTP_201_CREATED)

    @extend_schema(request=UpdateInput, responses={200: PlanOutput})
    def partial_update(self, request, finding_pk=None, pk=None):
        plan = self.get_object()
        serializer = self.UpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        management.action_plan_update(
            actor=request.user,
            plan=plan,
            owner=_user(data["owner"]) if "owner" in data else None,
            description=data.get("description"),
            due_date=data.get("due_date"),
        )
        return Response(self._plan_output(plan.pk))

    @extend_schema(request=MilestoneInput, responses={201: PlanOutput})
    @action(detail=True, methods=["post"], url_path="milestones")
    def add_milestone(self, request, finding_pk=None, pk=None):
        plan = self.get_object()
        serializer = MilestoneInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        management.milestone_add(actor=request.user, plan=plan, **serializer.validated_data)
        return Response(self._plan_output(plan.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=DoneInput, responses={200: PlanOutput}, operation_id="findings_action_plans_milestones_tick"
    )
    @action(detail=True, methods=["post"], url_path=r"milestones/(?P<milestone_pk>[0-9]+)")
    def tick_milestone(self, request, finding_pk=None, pk=None, milestone_pk=None):
        plan = self.get_object()
        milestone = get_object_or_404(Milestone.objects.filter(plan=plan), pk=milestone_pk)
        serializer = self.DoneInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        management.milestone_set_done(
            actor=request.user, milestone=milestone, done=serializer.validated_data["done"]
        )
        return Response(self._plan_output(plan.pk))


# --- extension requests ------------------------------------------------------------------------------


class ExtensionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    previous_due_date = serializers.DateField(allow_null=True)
    proposed_due_date = serializers.DateField()
    reason = serializers.CharField()
    status = serializers.CharField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    decided_at = serializers.DateTimeField(allow_null=True)
    decision_comment = serializers.CharField()


class ExtensionRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, FindingChildViewSet):
    """Due-date extensions of a finding. POST ``{proposed_due_date, reason}`` (the finding's owner or first
    line); ``…/{id}/decision/`` ``{decision: approve|reject, comment}`` (the second line, never the requester,
    the finding's owner or the model's owner). Approval moves the finding's due date."""

    class Input(inputs.Input):
        proposed_due_date = serializers.DateField()
        reason = serializers.CharField(max_length=management.MAX_BODY_CHARS)

    class DecisionInput(inputs.Input):
        decision = serializers.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
        comment = serializers.CharField(max_length=management.MAX_BODY_CHARS, allow_blank=True, default="")

    record_model = ExtensionRequest
    selector = staticmethod(selectors.extension_request_list)
    serializer_class = ExtensionOutput

    @extend_schema(request=Input, responses={201: ExtensionOutput})
    def create(self, request, finding_pk=None):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        extension = management.extension_request(
            actor=request.user, finding=self.finding(), **serializer.validated_data
        )
        return Response(ExtensionOutput(extension).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionInput, responses={200: ExtensionOutput})
    @action(detail=True, methods=["post"], url_path="decision")
    def decide(self, request, finding_pk=None, pk=None):
        extension = self.get_object()
        serializer = self.DecisionInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        extension = management.extension_decide(
            actor=request.user,
            extension=extension,
            approve=data["decision"] == "approve",
            comment=data["comment"],
        )
        return Response(ExtensionOutput(extension).data)


# --- attachments -------------------------------------------------------------------------------------


class AttachmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    uploaded_by = serializers.CharField(source="uploaded_by.username")
    uploaded_at = serializers.DateTimeField()


class FindingAttachmentViewSet(
    UploadViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, FindingChildViewSet
):
    """Files attached to a finding. POST multipart with the field ``file`` (201, or 200 when the same bytes
    are already attached); ``…/{id}/download/`` returns the file to anyone who may see the finding."""

    class Input(inputs.Input):
        file = serializers.FileField()

    record_model = FindingAttachment
    selector = staticmethod(selectors.finding_attachment_list)
    serializer_class = AttachmentOutput
    parser_classes = [MultiPartParser]

    @staticmethod
    def upload_max_bytes() -> int:
        return settings.ATTEST_MAX_DATASET_BYTES  # the cap of evidence documents

    @extend_schema(
        request={"multipart/form-data": Input}, responses={201: AttachmentOutput, 200: AttachmentOutput}
    )
    def create(self, request, finding_pk=None):
        finding = self.finding()
        self.Input(data=request.data).is_valid(raise_exception=True)  # the file, and no other field
        upload = received_upload(request, "file")
        attachment, created = management.finding_attachment_add(
            actor=request.user, finding=finding, upload=upload
        )
        return Response(
            AttachmentOutput(attachment).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses={(200, "*/*"): bytes})
    @action(detail=True, methods=["get"])
    def download(self, request, finding_pk=None, pk=None):
        attachment = self.get_object()
        return FileResponse(
            storage.open_blob(attachment.file_key), as_attachment=True, filename=attachment.file_name
        )
