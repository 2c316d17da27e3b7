"""Which entries of a policy bind which models: the LLM application track.

A policy is one per risk tier; an entry of its ``required_checks`` may carry ``model_kinds`` (e.g.
``["llm_application"]``) to bind only models of those kinds. A leaf module (no imports) so that the policy
service, the thresholds and the approvals read entries the same way.
"""

from __future__ import annotations


def applies_to(check: dict, model_kind: str | None) -> bool:
    """Does a ``required_checks`` entry bind models of ``model_kind``? An entry with ``model_kinds`` binds
    only those kinds (the LLM track: ``["llm_application"]``); one without binds every model. With no kind
    given (a policy read on its own), every entry counts."""
    kinds = check.get("model_kinds")
    return not kinds or model_kind is None or model_kind in kinds


def checks_for(required_checks: list[dict], model_kind: str | None) -> list[dict]:
    """The entries that bind a model of ``model_kind`` (``applies_to``), in the policy's order."""
    return [check for check in required_checks if applies_to(check, model_kind)]
