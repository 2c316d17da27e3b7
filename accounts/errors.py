"""Refusals of the governance workflow, each with its HTTP status and a stable machine code."""

from config.api.errors import ServiceError


class PrerequisitesMissing(ServiceError):
    """An approval cannot be requested: checks, passing results or evidence are missing."""

    status_code = 409
    code = "prerequisites_missing"


class NotGated(ServiceError):
    status_code = 400
    code = "environment_not_gated"


class RequestClosed(ServiceError):
    status_code = 409
    code = "request_closed"


class EvidenceChanged(ServiceError):
    """The evidence recomputed at signing differs from what the request was made on."""

    status_code = 409
    code = "evidence_changed"


class ReauthenticationFailed(ServiceError):
    """The password (or TOTP code) given with a signature was wrong."""

    status_code = 401
    code = "reauthentication_failed"


class SignatureRefused(ServiceError):
    """Segregation of duties or stage rules forbid this signer."""

    status_code = 403

    def __init__(self, message: str, *, code: str, **kwargs):
        super().__init__(message, **kwargs)
        self.code = code


class GateClosed(ServiceError):
    status_code = 409
    code = "gate_closed"


class InvalidTransition(ServiceError):
    status_code = 409
    code = "invalid_transition"


class DelegationRefused(ServiceError):
    """The colleague an approval stage would be handed to may not sign it (role, team, segregation of
    duties, already signed or assigned): the input naming them is at fault."""

    status_code = 400

    def __init__(self, message: str, *, code: str, **kwargs):
        super().__init__(message, **kwargs)
        self.code = code
