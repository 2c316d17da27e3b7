"""What a SIEM receives for each audit event: a syslog line (RFC 5424 with a CEF or JSON message), an
OpenTelemetry log record, or a Splunk HEC event.

Every format carries ``seq``, ``hash``, ``prev_hash`` and ``canonical``: the exact RFC 8785 text that was
hashed (``audit.chain``), so the receiver can recompute each hash and each link without Attest
(``integrations.siem.verify_chain``). The other fields (action, actor, object, address) are there for the
SIEM's searches and rules; the verifier checks that they agree with the hashed text.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from audit.actions import ACTIONS
from audit.exports import canonical_text, event_record
from audit.models import AuditEvent

VENDOR = "Attest"
PRODUCT = "Attest"
APP_NAME = "attest"
# syslog facility 13, "log audit" (RFC 5424 table 1)
FACILITY_LOG_AUDIT = 13
HEC_SOURCETYPE = "attest:audit"
OTLP_SCOPE = "attest.audit"

# CEF severity 0-10 and the syslog severity (RFC 5424) sent with it.
HIGH, MEDIUM, LOW = 7, 5, 3
_SYSLOG_SEVERITY = {HIGH: 4, MEDIUM: 5, LOW: 6}  # warning, notice, informational
_HIGH_MARKS = ("_failed", "_refused", "locked_out", "reauthentication_failed")
_MEDIUM_PREFIXES = ("auth.", "token.", "user.", "permission.", "audit.", "siem.", "connector.", "admin.")


def severity(action: str) -> int:
    """CEF severity: refusals and failures high, security and audit-log changes medium, the rest low."""
    if action.endswith(_HIGH_MARKS):
        return HIGH
    if action.startswith(_MEDIUM_PREFIXES):
        return MEDIUM
    return LOW


def record(event: AuditEvent) -> dict[str, Any]:
    """The audit export's JSON-lines record (``audit.exports``): the published fields and ``canonical``."""
    return {**event_record(event), "canonical": canonical_text(event)}


# --- syslog ------------------------------------------------------------------------------------------


def syslog_frame(event: AuditEvent, *, fmt: str, hostname: str, version: str) -> bytes:
    """One RFC 5424 message with RFC 6587 octet-counting framing: ``<length> <message>``."""
    message = cef(event, version) if fmt == "cef" else json.dumps(record(event), ensure_ascii=False)
    pri = FACILITY_LOG_AUDIT * 8 + _SYSLOG_SEVERITY[severity(event.action)]
    timestamp = event.occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA: no structured data, everything is in the message
    line = f"<{pri}>1 {timestamp} {hostname or '-'} {APP_NAME} - audit - {message}".encode()
    return str(len(line)).encode() + b" " + line


def cef(event: AuditEvent, version: str) -> str:
    """``CEF:0|Attest|Attest|<version>|<action>|<description>|<severity>|<extension>``."""
    header = [
        "CEF:0",
        VENDOR,
        PRODUCT,
        version,
        event.action,
        ACTIONS.get(event.action, event.action),
        str(severity(event.action)),
    ]
    obj = f"{event.object_type}:{event.object_id}" if event.object_type else ""
    extension = {
        "rt": str(int(event.occurred_at.timestamp() * 1000)),
        "act": event.action,
        "externalId": str(event.event_id),
        "suser": event.actor_username,
        "suid": "" if event.actor_pk is None else str(event.actor_pk),
        "src": event.client_ip or "",
        "requestClientApplication": event.user_agent,
        "cn1Label": "seq",
        "cn1": str(event.seq),
        "cn2Label": "schema",
        "cn2": str(event.schema_version),
        "cs1Label": "hash",
        "cs1": event.hash,
        "cs2Label": "prev_hash",
        "cs2": event.prev_hash,
        "cs3Label": "object",
        "cs3": obj,
        "cs4Label": "object_repr",
        "cs4": event.object_repr,
        "cs5Label": "request_id",
        "cs5": event.request_id,
        "cs6Label": "canonical",
        "cs6": canonical_text(event),
    }
    fields = " ".join(f"{key}={cef_value(value)}" for key, value in extension.items() if value != "")
    return "|".join(cef_header(part) for part in header) + "|" + fields


def cef_header(text: str) -> str:
    """CEF header fields escape the backslash and the pipe (and may not break the line)."""
    return _one_line(text.replace("\\", "\\\\").replace("|", "\\|"))


def cef_value(text: str) -> str:
    """CEF extension values escape the backslash and the equals sign; line breaks are written \\n, \\r."""
    return text.replace("\\", "\\\\").replace("=", "\\=").replace("\r", "\\r").replace("\n", "\\n")


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


# --- OpenTelemetry (OTLP/HTTP JSON) -------------------------------------------------------------------

# OpenTelemetry SeverityNumber: INFO 9, INFO3 11, WARN 13
_OTEL_SEVERITY = {LOW: (9, "INFO"), MEDIUM: (11, "INFO3"), HIGH: (13, "WARN")}


def otlp_body(events: list[AuditEvent], *, hostname: str, version: str) -> bytes:
    """An ``ExportLogsServiceRequest`` in the OTLP JSON encoding: one log record per event, its body the
    hashed canonical text, the chain and the searchable fields as attributes."""
    resource = [_attribute("service.name", APP_NAME), _attribute("service.version", version)]
    if hostname:
        resource.append(_attribute("host.name", hostname))
    body = {
        "resourceLogs": [
            {
                "resource": {"attributes": resource},
                "scopeLogs": [
                    {"scope": {"name": OTLP_SCOPE}, "logRecords": [_log_record(e) for e in events]}
                ],
            }
        ]
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _log_record(event: AuditEvent) -> dict[str, Any]:
    number, text = _OTEL_SEVERITY[severity(event.action)]
    nanos = str(int(event.occurred_at.timestamp()) * 10**9 + event.occurred_at.microsecond * 1000)
    attributes = {
        "event.name": event.action,
        "attest.audit.seq": event.seq,
        "attest.audit.hash": event.hash,
        "attest.audit.prev_hash": event.prev_hash,
        "attest.audit.schema": event.schema_version,
        "attest.audit.event_id": str(event.event_id),
        "attest.audit.action": event.action,
        "attest.audit.object_type": event.object_type,
        "attest.audit.object_id": event.object_id,
        "user.name": event.actor_username,
        "client.address": event.client_ip or "",
    }
    return {
        "timeUnixNano": nanos,
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": canonical_text(event)},
        "attributes": [_attribute(key, value) for key, value in attributes.items() if value != ""],
    }


def _attribute(key: str, value: str | int) -> dict[str, Any]:
    # OTLP JSON writes 64-bit integers as strings (the protobuf JSON mapping)
    typed = {"intValue": str(value)} if isinstance(value, int) else {"stringValue": value}
    return {"key": key, "value": typed}


# --- Splunk HTTP Event Collector ----------------------------------------------------------------------


def hec_body(events: list[AuditEvent], *, hostname: str) -> bytes:
    """HEC's batch: one JSON object per event, concatenated; ``event`` is the export record."""
    lines = []
    for event in events:
        item = {
            "time": round(event.occurred_at.timestamp(), 3),
            "source": APP_NAME,
            "sourcetype": HEC_SOURCETYPE,
            "event": record(event),
        }
        if hostname:
            item["host"] = hostname
        lines.append(json.dumps(item, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines).encode()
