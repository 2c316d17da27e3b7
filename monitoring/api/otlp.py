"""OTLP/HTTP intake of LLM applications' telemetry: ``POST /otlp/v1/logs`` and ``POST /otlp/v1/metrics``.

Answers as the OTLP/HTTP specification says: 200 with an Export*ServiceResponse (``partial_success`` when
some items were refused) in the request's encoding; 400 with a google.rpc.Status for a body that does
not decode; 415 for another content type; 413 for a body over ``ATTEST_MAX_JSON_BYTES``; 401 without a
valid ``Authorization: Bearer`` API token and 403 when its user may not send telemetry for a version
named (``ingest_telemetry``: ML engineers of the model's team, administrators). Outside ``/api/v1/``
and its OpenAPI schema: the OTLP protocol is the contract (docs/OTLP.md).
"""

from __future__ import annotations

import gzip
import json
import zlib

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from config.api.errors import error_body
from monitoring import otlp
from monitoring.services import telemetry

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
INVALID_ARGUMENT = 3  # google.rpc.Code


class _Intake(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes: list = []
    schema = None
    reader = staticmethod(otlp.read_logs)

    def post(self, request):
        media = (request.content_type or "").split(";")[0].strip().lower()
        if media not in (PROTOBUF, JSON):
            return self._failure(
                415, "unsupported_media_type", f"Send {PROTOBUF} or {JSON}, not {media or 'no type'}.", JSON
            )
        try:
            body = self._body(request)
        except RequestDataTooBig:
            return self._failure(
                413,
                "payload_too_large",
                "The body is larger than this endpoint accepts; send smaller batches.",
                media,
            )
        except (OSError, EOFError, zlib.error):
            return self._failure(400, "invalid", "The body is not valid gzip.", media)
        try:
            batch = self.reader(body, json_encoding=media == JSON)
        except otlp.DecodeError as exc:
            return self._failure(400, "invalid", str(exc), media)
        telemetry.telemetry_ingest(actor=request.user, batch=batch)
        return HttpResponse(otlp.response(batch, json_encoding=media == JSON), status=200, content_type=media)

    @staticmethod
    def _body(request) -> bytes:
        raw = request._request.body
        if request.headers.get("Content-Encoding", "").strip().lower() != "gzip":
            return raw
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        body = inflater.decompress(raw, limit + 1)
        if len(body) > limit or inflater.unconsumed_tail:
            raise RequestDataTooBig("gzip body too large")
        if not inflater.eof:
            raise gzip.BadGzipFile("truncated gzip body")
        return body

    @staticmethod
    def _failure(status: int, code: str, message: str, media: str) -> HttpResponse:
        if media == PROTOBUF:
            return HttpResponse(otlp.status(INVALID_ARGUMENT, message), status=status, content_type=PROTOBUF)

        return HttpResponse(json.dumps(error_body(code, message)), status=status, content_type=JSON)


class LogsIntake(_Intake):
    """OTLP logs: GenAI log records (one per LLM call) and events carrying content."""

    reader = staticmethod(otlp.read_logs)


class MetricsIntake(_Intake):
    """OTLP metrics: the GenAI operation-duration and token-usage histograms (delta temporality)."""

    reader = staticmethod(otlp.read_metrics)
