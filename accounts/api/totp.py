"""``/api/v1/auth/totp/``: enrol, confirm and remove an authenticator for signing."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.services import totp
from config.api import inputs
from config.api.query import StrictQueryParameters


class TotpView(StrictQueryParameters, APIView):
    """GET: enrolled or not. POST ``{}``: start enrolment (returns the secret and otpauth URI).
    POST ``{"code"}``: confirm. DELETE ``{"password"}``: remove."""

    class Status(serializers.Serializer):
        enrolled = serializers.BooleanField()

    class Started(serializers.Serializer):
        secret = serializers.CharField()
        uri = serializers.CharField()

    class Input(inputs.Input):
        code = serializers.CharField(max_length=16, required=False)

    class RemoveInput(inputs.Input):
        password = serializers.CharField(max_length=4096, trim_whitespace=False)

    @extend_schema(responses={200: Status})
    def get(self, request):
        return Response({"enrolled": totp.is_enrolled(request.user)})

    @extend_schema(request=Input, responses={201: Started, 200: Status})
    def post(self, request):
        serializer = self.Input(data=request.data)
        serializer.is_valid(raise_exception=True)
        code = serializer.validated_data.get("code")
        if code:
            totp.totp_confirm(actor=request.user, code=code)
            return Response({"enrolled": True})
        secret, uri = totp.totp_begin(actor=request.user)
        return Response({"secret": secret, "uri": uri}, status=status.HTTP_201_CREATED)

    @extend_schema(request=RemoveInput, responses={204: None})
    def delete(self, request):
        serializer = self.RemoveInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        totp.totp_remove(actor=request.user, password=serializer.validated_data["password"])
        return Response(status=status.HTTP_204_NO_CONTENT)
