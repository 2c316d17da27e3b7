"""Token endpoints: obtain (JSON username/password → bearer token), logout, logout-all, token list."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from accounts import selectors
from accounts.authentication import BearerTokenAuthentication
from accounts.backends import PASSWORDS_OFF
from accounts.context import client_address
from accounts.services import accounts, federation, lockout
from config.api import inputs
from config.api.query import StrictQueryParameters

LOCKED_OUT = "Too many failed sign-in attempts for this account or from this address; try again later."


class IssuedToken(serializers.Serializer):
    token = serializers.CharField(help_text="The secret; shown only in this response.")
    token_key = serializers.CharField(help_text="The first characters, to recognise the token later.")
    name = serializers.CharField()
    expiry = serializers.DateTimeField()


class ObtainTokenView(StrictQueryParameters, APIView):
    """Exchange a username and password for a bearer token (``attest_…``)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    error_statuses = (401,)  # wrong credentials (the schema's automatic 401 is for signed-in endpoints)

    class Input(inputs.Input):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=4096, trim_whitespace=False)
        name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
        expires_in_days = serializers.IntegerField(
            required=False, min_value=1, max_value=accounts.MAX_TOKEN_DAYS
        )

    def get_authenticate_header(self, request) -> str:
        return "Bearer"  # so a refused sign-in is a 401 with a challenge, not a 403

    @extend_schema(request=Input, responses={201: IssuedToken, 429: None}, auth=[])
    def post(self, request):
        data = _validated(self.Input, request.data)
        client = client_address(request)
        locked = lockout.lock_for(username=data["username"], client=client)
        if locked is not None:  # the password is not checked while the account or the address is locked
            accounts.login_failed(username=data["username"], client=client, locked=locked)
            raise Throttled(wait=locked.retry_after, detail=LOCKED_OUT)
        if not federation.local_password_allowed(data["username"]):
            raise AuthenticationFailed(PASSWORDS_OFF)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None:  # django.contrib.auth signalled the failure: audited and counted (accounts.signals)
            raise AuthenticationFailed("Unable to sign in with those credentials.")
        lockout.success_record(username=user.get_username())
        token, secret = _create_token(user, data)
        body = {"token": secret, "token_key": token.token_key, "name": token.name, "expiry": token.expiry}
        return Response(IssuedToken(body).data, status=status.HTTP_201_CREATED)


def _validated(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _create_token(user, data):
    try:
        return accounts.token_create(
            actor=user, name=data.get("name", ""), expires_in_days=data.get("expires_in_days")
        )
    except DjangoValidationError as exc:
        raise serializers.ValidationError(exc.message_dict) from None


class LogoutView(StrictQueryParameters, APIView):
    """Revoke the token this request was made with."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        accounts.token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(StrictQueryParameters, APIView):
    """Revoke every token of the calling user."""

    authentication_classes = [BearerTokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={200: inline_serializer("RevokedCount", {"revoked": serializers.IntegerField()})},
    )
    def post(self, request):
        revoked = accounts.token_revoke_all(actor=request.user)
        return Response({"revoked": revoked})


class TokenViewSet(StrictQueryParameters, mixins.ListModelMixin, mixins.DestroyModelMixin, GenericViewSet):
    """The caller's own API tokens: list, create (the secret is returned once), revoke."""

    lookup_field = "token_key"
    lookup_value_regex = "[A-Za-z0-9_]+"

    class Output(serializers.Serializer):
        token_key = serializers.CharField()
        name = serializers.CharField()
        created = serializers.DateTimeField()
        expiry = serializers.DateTimeField()

    class Input(inputs.Input):
        name = serializers.CharField(max_length=100, allow_blank=True, default="")
        expires_in_days = serializers.IntegerField(
            required=False, min_value=1, max_value=accounts.MAX_TOKEN_DAYS
        )

    serializer_class = Output

    def get_queryset(self):
        return selectors.token_list(user=self.request.user)

    @extend_schema(request=Input, responses={201: IssuedToken})
    def create(self, request):
        data = _validated(self.Input, request.data)
        token, secret = _create_token(request.user, data)
        body = {"token": secret, "token_key": token.token_key, "name": token.name, "expiry": token.expiry}
        return Response(IssuedToken(body).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        accounts.token_revoke(actor=self.request.user, token=instance)
