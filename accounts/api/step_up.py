"""``/api/v1/auth/step-up/``: re-authenticate at the identity provider for one signature.

POST ``{"purpose": "approval:12"}`` (or ``review:3``) begins it and answers where to send the signer's
browser; the IdP asks for their credentials again and returns to Attest, which records the fresh
authentication; the signature is then made with ``{"step_up": id}`` instead of a password.
GET ``/api/v1/auth/step-up/{id}/`` tells whether it is completed (a CLI or a page can wait on it).
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.errors import ReauthenticationFailed
from accounts.models import StepUp
from accounts.services import federation
from config.api import inputs
from config.api.query import StrictQueryParameters

PURPOSE_PATTERN = r"^(approval|review):[1-9][0-9]{0,18}$"


class StepUpOutput(serializers.Serializer):
    step_up = serializers.IntegerField(source="pk")
    provider = serializers.CharField(source="provider.name")
    purpose = serializers.CharField()
    state = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()
    idp_authenticated_at = serializers.DateTimeField()

    def get_state(self, step_up: StepUp) -> str:
        if step_up.consumed_at is not None:
            return "used"
        if step_up.completed_at is not None:
            return "completed"
        return "expired" if timezone.now() > step_up.expires_at else "pending"


class StepUpStarted(StepUpOutput):
    authorize_url = serializers.CharField()


def step_up_url(request, step_up: StepUp, state: str) -> str:
    """Where the signer's browser goes: the protocol's own start page for this provider (OIDC
    ``prompt=login&max_age=0``, SAML ``ForceAuthn``), carrying the one-time state."""
    provider = step_up.provider
    path = reverse(f"sso-{provider.protocol}-step-up", args=[provider.name])
    return request.build_absolute_uri(f"{path}?state={state}")


class StepUpView(StrictQueryParameters, APIView):
    class Input(inputs.Input):
        purpose = serializers.RegexField(
            PURPOSE_PATTERN, max_length=40, error_messages={"invalid": "approval:<id> or review:<id>."}
        )

    @extend_schema(request=Input, responses={201: StepUpStarted})
    def post(self, request):
        body = self.Input(data=request.data)
        body.is_valid(raise_exception=True)
        provider = federation.signing_provider(request.user)
        if provider is None:
            raise ReauthenticationFailed(
                "You sign with your password (and authenticator code), not through an identity provider.",
                fields={"password": ["Re-enter your password to sign."]},
            )
        step_up, state = federation.step_up_begin(
            user=request.user, provider=provider, purpose=body.validated_data["purpose"]
        )
        data = StepUpOutput(step_up).data | {"authorize_url": step_up_url(request, step_up, state)}
        return Response(data, status=status.HTTP_201_CREATED)


class StepUpDetailView(StrictQueryParameters, APIView):
    @extend_schema(responses={200: StepUpOutput})
    def get(self, request, pk: int):
        step_up = get_object_or_404(StepUp.objects.select_related("provider"), pk=pk, user=request.user)
        return Response(StepUpOutput(step_up).data)
