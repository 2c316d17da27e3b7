"""``/api/v1/approvals/`` and ``/api/v1/approvals/{id}/signatures/``: requests and electronic signatures."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import access
from accounts.models import User
from config.api import inputs
from config.api.filters import VersionRecordFilter
from config.api.viewsets import ScopedViewSet
from registry.api.references import model_reference_field, version_field
from workflow import selectors
from workflow.api.common import visible_version
from workflow.models import ApprovalRequest, Decision, Environment, Meaning, Signature
from workflow.services import approval_logistics as logistics
from workflow.services import approvals as approval_services
from workflow.services.approvals import SignatureInput


class SignatureOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField(source="stage_key")
    signer = serializers.CharField(source="signer.username")
    printed_name = serializers.CharField()
    roles = serializers.JSONField()
    decision = serializers.CharField()
    meaning = serializers.CharField()
    meaning_statement = serializers.CharField(source="get_meaning_display")
    comment = serializers.CharField()
    signed_at = serializers.DateTimeField()
    auth_method = serializers.CharField()
    evidence_digest = serializers.CharField()
    policy_tier = serializers.IntegerField()
    policy_version = serializers.IntegerField()
    key_id = serializers.CharField()
    server_signature = serializers.CharField()
    signed_payload = serializers.SerializerMethodField()

    def get_signed_payload(self, signature) -> str:
        """The RFC 8785 JSON the server signed, so anyone with the public key can verify it."""
        return bytes(signature.payload).decode()


class AssignmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.CharField(source="stage_key")
    assignee = serializers.CharField(source="assignee.username")
    replaces = serializers.CharField(source="replaces.username", allow_null=True, default=None)
    kind = serializers.CharField(help_text="delegation (by the signer) or reassignment (by an administrator)")
    reason = serializers.CharField()
    assigned_by = serializers.CharField(source="assigned_by.username")
    assigned_at = serializers.DateTimeField()


class ApprovalOutput(serializers.Serializer):
    id = serializers.IntegerField()
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.IntegerField(source="model_version.version")
    environment = serializers.CharField()
    status = serializers.CharField()
    policy = serializers.SerializerMethodField()
    stages = serializers.SerializerMethodField()
    current_stage = serializers.CharField(source="current_stage_key", allow_null=True)
    evidence_digest = serializers.CharField()
    evidence_manifest = serializers.JSONField()
    justification = serializers.CharField()
    requested_by = serializers.CharField(source="requested_by.username")
    requested_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    outcome_reason = serializers.CharField()
    stage_due_at = serializers.DateTimeField(
        allow_null=True, help_text="When the open stage is due (its policy's due_days after it opened)."
    )
    signatures = SignatureOutput(many=True)
    assignments = AssignmentOutput(many=True)

    def get_policy(self, request) -> dict:
        return {"tier": request.policy.tier, "version": request.policy.version, "name": request.policy.name}

    def get_stages(self, request) -> list[dict]:
        signed = {}
        for signature in request.signatures.all():
            signed.setdefault(signature.stage_key, []).append(signature.printed_name)
        stages = []
        for index, key in enumerate(request.stage_keys):
            stage = request.policy.stage(key) or {"key": key}
            state = (
                "done"
                if index < request.stage_index
                else "open"
                if index == request.stage_index
                else "waiting"
            )
            if request.status != "pending" and state != "done":
                state = "closed"
            due = (request.stage_due_dates or {}).get(key)
            stages.append(
                {
                    **stage,
                    "due_days": approval_services.stage_due_days(stage),
                    "due_at": due,
                    "state": state,
                    "signed_by": signed.get(key, []),
                }
            )
        return stages


class ApprovalFilter(VersionRecordFilter):
    class Meta:
        model = ApprovalRequest
        fields = ["model", "version", "status", "environment", "model_version__model__name"]


class ApprovalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ScopedViewSet):
    """Approval requests. ``?awaiting=me`` lists the ones whose open stage you can sign now."""

    class Input(inputs.Input):
        model = model_reference_field()
        version = version_field()
        environment = serializers.ChoiceField(choices=Environment.choices)
        justification = serializers.CharField(max_length=5000, allow_blank=True, default="")

    class CancelInput(inputs.Input):
        reason = serializers.CharField(max_length=5000)

    class DelegateInput(inputs.Input):
        stage = serializers.SlugField(max_length=64, help_text="The stage key (open or later).")
        delegate = serializers.SlugField(max_length=150, help_text="The colleague's username.")
        reason = serializers.CharField(max_length=5000)

    class ReassignInput(inputs.Input):
        stage = serializers.SlugField(max_length=64, help_text="The stage key (open or later).")
        assignee = serializers.SlugField(max_length=150, help_text="Username of the person to assign.")
        replaces = serializers.SlugField(
            max_length=150,
            required=False,
            default="",
            allow_blank=True,
            help_text="Username of a signer the stage is taken from (they may no longer sign it).",
        )
        reason = serializers.CharField(max_length=5000)

    selector = staticmethod(selectors.approval_list)
    serializer_class = ApprovalOutput
    filterset_class = ApprovalFilter
    ordering_fields = ["requested_at", "completed_at"]

    @extend_schema(parameters=[OpenApiParameter("awaiting", str, enum=["me"], required=False)])
    def list(self, request, *args, **kwargs):
        awaiting = request.query_params.getlist("awaiting")
        if awaiting and awaiting != ["me"]:
            raise serializers.ValidationError({"awaiting": ['The only value is "me".']})
        if awaiting:
            waiting = selectors.approvals_awaiting(user=request.user)
            page = self.paginate_queryset(waiting)
            return self.get_paginated_response(ApprovalOutput(page, many=True).data)
        return super().list(request, *args, **kwargs)

    @extend_schema(request=Input, responses={201: ApprovalOutput})
    def create(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = visible_version(request.user, data["model"], data.get("version"))
        approval = approval_services.approval_request(
            actor=request.user,
            version=version,
            environment=data["environment"],
            justification=data["justification"],
        )
        return Response(ApprovalOutput(approval).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CancelInput, responses={200: ApprovalOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        serializer = self.CancelInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        approval = approval_services.approval_cancel(
            actor=request.user, request=self.get_object(), reason=serializer.validated_data["reason"]
        )
        return Response(ApprovalOutput(approval).data)

    @extend_schema(request=DelegateInput, responses={201: AssignmentOutput})
    @action(detail=True, methods=["post"])
    def delegate(self, request, pk=None):
        """Hand your signature on a stage to a qualified colleague (who may sign it by every rule a
        signature has: role, team, segregation of duties, not yet signed or assigned this request)."""
        serializer = self.DelegateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        approval = self.get_object()
        assignment = logistics.stage_delegate(
            actor=request.user,
            request=approval,
            stage_key=data["stage"],
            delegate=_named_user(data["delegate"], "delegate"),
            reason=data["reason"],
        )
        return Response(AssignmentOutput(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReassignInput, responses={201: AssignmentOutput})
    @action(detail=True, methods=["post"])
    def reassign(self, request, pk=None):
        """An administrator assigns a stage to a qualified person, optionally taking it from a signer."""
        serializer = self.ReassignInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        approval = self.get_object()
        access.require(request.user, "administer")
        assignment = logistics.stage_reassign(
            actor=request.user,
            request=approval,
            stage_key=data["stage"],
            assignee=_named_user(data["assignee"], "assignee"),
            replaces=_named_user(data["replaces"], "replaces") if data["replaces"] else None,
            reason=data["reason"],
        )
        return Response(AssignmentOutput(assignment).data, status=status.HTTP_201_CREATED)


def _named_user(username: str, field: str) -> User:
    """An active account by username; 400 naming the field otherwise (people are not secret to signers)."""
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise serializers.ValidationError({field: ["No active account with this username."]})
    return user


class SigningCredentials(inputs.Input):
    """What a signer re-enters for one signature: their password (and TOTP code), or the id of a
    re-authentication completed at their identity provider."""

    password = serializers.CharField(
        max_length=4096, trim_whitespace=False, write_only=True, required=False, default=""
    )
    totp = serializers.CharField(max_length=16, allow_blank=True, default="", write_only=True)
    step_up = serializers.IntegerField(min_value=1, required=False, default=None, write_only=True)

    def validate(self, attrs):
        if not attrs.get("password") and attrs.get("step_up") is None:
            raise serializers.ValidationError(
                {"password": ["Re-enter your password, or give step_up if you sign in through an IdP."]}
            )
        return attrs


class SignatureViewSet(mixins.ListModelMixin, ScopedViewSet):
    """Signatures of one request. POST signs: ``{decision, meaning, comment, password[, totp]}``, or, for
    someone who signs in through an identity provider, ``{…, step_up}`` (POST /api/v1/auth/step-up/)."""

    class Input(SigningCredentials):
        decision = serializers.ChoiceField(choices=Decision.choices)
        meaning = serializers.ChoiceField(choices=Meaning.choices)
        comment = serializers.CharField(max_length=5000, allow_blank=True, default="")

    selector = staticmethod(selectors.signature_list)
    serializer_class = SignatureOutput
    pagination_class = None

    def approval(self):
        """The request named in the URL, if the user may see it (404 otherwise)."""
        return get_object_or_404(
            selectors.approval_list(user=self.request.user), pk=self.kwargs["approval_pk"]
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no URL kwargs
            return Signature.objects.none()
        return super().get_queryset().filter(request=self.approval())

    @extend_schema(request=Input, responses={201: SignatureOutput})
    def create(self, request, approval_pk=None):
        approval = self.approval()
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        signing = SignatureInput(
            decision=data["decision"],
            meaning=data["meaning"],
            comment=data["comment"],
            password=data["password"],
            totp_code=data["totp"],
            step_up=data["step_up"],
        )
        signature = approval_services.approval_sign(actor=request.user, request=approval, signing=signing)
        return Response(SignatureOutput(signature).data, status=status.HTTP_201_CREATED)
