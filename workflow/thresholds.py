"""The policy as a source of check thresholds (registered in ATTEST_THRESHOLD_PROVIDERS).

Monitoring never imports the governance workflow; instead it asks the providers named in its settings.
This one turns the active policy's ``required_checks`` bounds into binding thresholds, so a check run
for a tier-1 model is judged by the tier-1 policy and a request cannot loosen it.
"""

from __future__ import annotations

from monitoring.thresholds import Threshold
from workflow.models import Policy
from workflow.policy_scope import checks_for

# Policy metric names whose monitoring threshold is not simply "<metric>_min" / "<metric>_max".
SPECIAL_NAMES = {("drift", "psi", "max"): "psi_fail"}


def threshold_name(kind: str, metric: str, bound: str) -> str:
    """The monitoring threshold a policy bound sets, e.g. (fairness, demographic_parity_ratio, min)."""
    return SPECIAL_NAMES.get((kind, metric, bound), f"{metric}_{bound}")


def policy_bounds(policy: Policy, kind: str, model_kind: str | None = None) -> dict[str, float]:
    """``{threshold name: value}`` for the policy's bounds on one check kind, for models of
    ``model_kind`` (entries scoped to other kinds do not bind)."""
    bounds = {}
    for check in checks_for(policy.required_checks, model_kind):
        if check["kind"] != kind or "metric" not in check:
            continue
        for bound in ("min", "max"):
            if bound in check:
                bounds[threshold_name(kind, check["metric"], bound)] = check[bound]
    return bounds


def policy_thresholds(run) -> dict[str, Threshold]:
    """Threshold provider: the bounds of the active policy for the run's model's risk tier."""
    model = run.model_version.model
    policy = Policy.objects.filter(tier=model.risk_tier, is_active=True).first()
    if policy is None:
        return {}
    source = f"policy: tier {policy.tier} v{policy.version} ({policy.name})"
    return {
        name: Threshold(value, source, binding=True)
        for name, value in policy_bounds(policy, run.kind, model.kind).items()
    }
