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


LLM_APPLICATION, ML_MODEL = "llm_application", "ml_model"


def has_llm_track(required_checks: list[dict]) -> bool:
    """Does any entry bind LLM applications by name? A policy from before the track binds them with the
    scoring checks (entries without ``model_kinds``), which a bundle cannot run."""
    return any(LLM_APPLICATION in (check.get("model_kinds") or []) for check in required_checks)


def with_llm_track(required_checks: list[dict], shipped: list[dict]) -> list[dict]:
    """``required_checks`` with the shipped LLM application track adopted: entries that bind every model
    bind scoring models only (``ml_model``), and the shipped entries for ``llm_application`` follow."""
    scoped = [
        check if check.get("model_kinds") else check | {"model_kinds": [ML_MODEL]}
        for check in required_checks
    ]
    return scoped + [check for check in shipped if LLM_APPLICATION in (check.get("model_kinds") or [])]
