"""The catalogue of audit actions: dotted names, each with what it means.

``record`` refuses names that are not here, so a typo cannot create an action an auditor's filter
would never find. Later features add their actions to this one list, with the code that writes them:
an action nothing writes is a promise an auditor would search for in vain
(``tests/audit/test_catalogue.py`` holds every entry to a writer).
"""

ACTIONS: dict[str, str] = {
    # accounts and access
    "auth.login": "A person signed in with a password.",
    "auth.login_failed": "A sign-in attempt was refused (wrong credentials, or the account or address locked).",
    "auth.locked_out": "Repeated wrong passwords locked an account or a client address for a while.",
    "auth.lock_lifted": "An administrator lifted a sign-in lock early.",
    "auth.reauthentication_failed": "A password re-entered to change a security setting was wrong.",
    "auth.logout": "A person signed out.",
    "auth.password_changed": "A user changed their password, or an administrator set it.",
    "auth.totp_enrolled": "A user enrolled a TOTP authenticator.",
    "auth.totp_removed": "A TOTP authenticator was removed by its user, or by an administrator (a lost device).",
    "auth.sso_login": "A person signed in through an identity provider (OpenID Connect or SAML); their roles "
    "and mapped teams were brought up to date from the IdP's groups.",
    "auth.sso_refused": "An identity provider vouched for someone Attest refused (no role mapped, account "
    "deactivated, or the username belongs to an account the IdP is not linked to).",
    "auth.identity_linked": "An identity provider's subject was linked to an Attest account at its first sign-in.",
    "auth.step_up_started": "A signer began re-authenticating at their identity provider for one signature.",
    "auth.step_up_completed": "The identity provider re-authenticated a signer for one signature.",
    "auth.step_up_refused": "A re-authentication at the identity provider was refused (someone else, not "
    "fresh, expired, or without the required authentication context).",
    "sso.provider_created": "An administrator added an identity provider (OpenID Connect or SAML); its client "
    "secret is never recorded, only whether one was set.",
    "sso.provider_changed": "An administrator changed an identity provider's settings (the changed fields, "
    "a new client secret only as changed).",
    "sso.provider_deleted": "An administrator deleted an identity provider nobody had signed in through.",
    "sso.mapping_changed": "An administrator added, changed or removed a mapping from an identity provider's "
    "group to a role or a team.",
    "scim.client_created": "An administrator created a SCIM provisioning client (its bearer token is shown once).",
    "scim.client_changed": "An administrator pointed a SCIM client's groups at another identity provider's "
    "group mappings.",
    "scim.client_revoked": "A SCIM provisioning client was switched off; its token no longer works.",
    "scim.user_linked": "A SCIM client began managing an account: one it created, or a password-less one it "
    "adopted.",
    "scim.user_changed": "A SCIM client changed what it keeps about an account (its externalId, its e-mails).",
    "scim.user_deprovisioned": "A SCIM client deactivated an account: its API tokens were revoked and its "
    "sessions ended at once.",
    "scim.user_unlinked": "A SCIM client deleted an account: it stays, deactivated, and the client no longer "
    "manages it.",
    "scim.group_created": "A SCIM client pushed a group (its name feeds the identity provider's group mappings).",
    "scim.group_changed": "A SCIM group's name, externalId or members changed.",
    "scim.group_deleted": "A SCIM client deleted a group; its members' mapped roles and teams were re-evaluated.",
    "token.created": "An API token was issued.",
    "token.revoked": "An API token was revoked.",
    "user.created": "A user account was created.",
    "user.changed": "A user account's details changed (names, email, console access, active).",
    "user.roles_changed": "A user's roles changed.",
    "team.created": "A team was created.",
    "team.changed": "A team's title or description changed.",
    "team.member_added": "A user joined a team.",
    "team.member_removed": "A user left a team.",
    "permission.granted": "An object permission was granted.",
    "permission.revoked": "An object permission was revoked.",
    "admin.changed": "An administrator changed reference data that has no service (frameworks, evidence "
    "types, controls) through the admin console.",
    # the audit log itself
    "audit.checkpoint_signed": "A signed checkpoint of the chain head was made.",
    "audit.verified": "The audit chain was verified.",
    "audit.exported": "Audit events were exported.",
    # operations
    "system.worker_ping": "A background worker answered a ping.",
    "system.demo_seeded": "Demo users and data were created.",
    # registry
    "model.created": "A model was registered in the inventory.",
    "model.changed": "A model's inventory fields changed.",
    "model.status_changed": "A model moved to another lifecycle status.",
    "model.tier_overridden": "A model's risk tier was overridden.",
    "model.review_rescheduled": "A model's next review date moved because its tier's policy changed.",
    "model.change_refused": "A change the first line may not make (review dates, validity, a foreign owner, "
    "a longer review interval) was refused.",
    "model.tier_change_requested": "Questionnaire answers that would lower a model's tier await a risk officer.",
    "model.tier_change_accepted": "A risk officer accepted a lower tier; the answers now apply.",
    "model.tier_change_rejected": "A risk officer rejected a lower tier; the model keeps its tier.",
    "model.reviewed": "A completed periodic review set a model's review date (and validity).",
    "model_version.submitted": "A model version was submitted with its artifact.",
    "model_version.alias_moved": "A version alias (champion, challenger) was moved.",
    "model_version.downloaded": "A model artifact was downloaded.",
    "dataset.created": "A dataset was registered.",
    "dataset_version.uploaded": "A dataset version was uploaded.",
    "dataset_version.profiled": "A dataset version was profiled.",
    "dataset_version.downloaded": "A dataset file was downloaded.",
    "lineage.event_received": "An OpenLineage run event was received.",
    "tiering.rule_changed": "The risk-tiering rule changed.",
    "saved_filter.created": "A person saved an inventory filter under a name (seen only by them).",
    "saved_filter.deleted": "A person deleted one of their saved inventory filters.",
    # checks and monitoring
    "check.queued": "A check run was queued.",
    "check.started": "A check run started.",
    "check.succeeded": "A check run finished with results.",
    "check.failed": "A check run failed.",
    "check.requeued": "A check run whose worker stopped responding was queued again.",
    "red_team.imported": "A red-team report (garak or promptfoo) was imported for a model version.",
    "judged_evaluation.imported": "Judged evaluation metrics (an LLM judge's scores) were imported for a model version.",
    "monitoring_plan.created": "A monitoring plan was created.",
    "monitoring_plan.changed": "A monitoring plan was changed.",
    "monitoring_plan.deleted": "A monitoring plan was deleted.",
    "monitoring.alert_raised": "A monitoring check breached its threshold.",
    "monitoring.alert_acknowledged": "Someone acknowledged a monitoring alert (they have seen it and own it).",
    "monitoring.alert_snoozed": "Someone snoozed a monitoring alert until a time, with a reason; it reappears "
    "as open when the snooze ends.",
    "monitoring.telemetry_monitor_set": "Someone set how a version's production telemetry is bucketed and "
    "judged (bucket width, minimum calls, maximum block, flag and refusal rates, p95 latency).",
    "monitoring.alert_escalated": "Someone escalated a monitoring alert to a finding on its check run.",
    # governance workflow
    "policy.created": "A policy version was created.",
    "policy.activated": "A policy version became active for its tier.",
    "evidence.added": "An evidence document was added.",
    "validation_template.saved": "A policy's validation document template was created or changed.",
    "validation_document.saved": "A validation document was saved as a new revision.",
    "validation_document.refused": "A change to a validation document was refused (role or segregation).",
    "approval.requested": "Approval of a version for an environment was requested.",
    "approval.refused": "An approval request was refused for missing evidence.",
    "approval.signed": "An approval request was signed.",
    "approval.signature_refused": "A signing attempt was refused.",
    "approval.stage_completed": "An approval stage reached its quorum.",
    "approval.approved": "An approval request completed.",
    "approval.rejected": "An approval request was rejected.",
    "approval.cancelled": "An approval request was withdrawn by its requester or an administrator.",
    "approval.invalidated": "An approval request was invalidated because its evidence changed.",
    "approval.stage_delegated": "A signer handed their signature on an approval stage to a qualified colleague.",
    "approval.stage_reassigned": "An administrator assigned an approval stage to a named, qualified person.",
    "approval.assignment_refused": "Handing an approval stage to someone was refused (not the actor's signature "
    "to give, or the colleague may not sign it: role, team, segregation of duties, already signed or assigned).",
    "notification.digest_sent": "A person was e-mailed their daily digest of unread notifications.",
    "finding.raised": "A finding was raised.",
    "finding.changed": "A finding's status or fields changed.",
    "finding.commented": "A comment was added to a finding's thread.",
    "finding.plan_created": "An action plan (owner, milestones, due date) was written for a finding.",
    "finding.plan_changed": "A finding's action plan changed (owner, description, due date, a milestone added).",
    "finding.milestone_changed": "A milestone of a finding's action plan was ticked done (or undone).",
    "finding.extension_requested": "A later due date was requested for a finding, with a reason.",
    "finding.extension_approved": "The second line approved a finding's extension; its due date moved.",
    "finding.extension_rejected": "The second line rejected a finding's extension; its due date stays.",
    "finding.attachment_added": "A file was attached to a finding (its SHA-256 is recorded).",
    "deployment.recorded": "A deployment was recorded.",
    "deployment.refused": "A deployment was refused by the gate.",
    "deployment.rolled_back": "A deployment was rolled back.",
    "review.overdue": "A model's periodic review became overdue.",
    "review.cleared": "A model under review was cleared.",
    "review.opened": "A periodic review of a model was opened.",
    "review.evidence_attached": "An evidence document was attached to a periodic review.",
    "review.completed": "A periodic review was concluded and signed.",
    "review.signature_refused": "A periodic review signature was refused (re-authentication, role, segregation).",
    "review.cancelled": "An open periodic review was cancelled.",
    "webhook.created": "A webhook endpoint was created.",
    "webhook.changed": "A webhook endpoint was changed.",
    "webhook.deleted": "A webhook endpoint was deleted.",
    "webhook.tested": "An administrator sent a webhook endpoint a signed test event.",
    "webhook.delivered": "A webhook message was delivered to its endpoint.",
    # reports and exports
    "report.requested": "A report was requested.",
    "report.generated": "A report was generated; its hash is recorded.",
    "report.failed": "Report generation failed.",
    "report.downloaded": "A report was downloaded.",
    "validation_document.exported": "A validation document was exported (DOCX).",
    "bundle.requested": "An evidence bundle was requested.",
    "bundle.generated": "An evidence bundle was generated.",
    "bundle.failed": "Building an evidence bundle failed.",
    "bundle.downloaded": "An evidence bundle was downloaded.",
    "export.downloaded": "A data export was downloaded.",
    "grc.delivered": "A report or bundle was delivered to a GRC system.",
    "grc.delivery_failed": "A delivery to a GRC system failed.",
    "connector.changed": "A GRC connector was created or changed.",
    "connector.tested": "An administrator sent a GRC connector a test event.",
    "siem.destination_created": "An administrator connected a SIEM the audit trail is forwarded to.",
    "siem.destination_changed": "A SIEM destination's settings changed (address, token, format, enabled).",
    # integrations: MLflow tracking servers
    "mlflow_registry.created": "An MLflow tracking server was connected for a team's models.",
    "mlflow_sync.requested": "An import or sync of an MLflow registry was queued (by a person, a webhook "
    "delivery or a poll).",
    "mlflow_sync.finished": "An MLflow import or sync finished; what it did and its problems are recorded.",
    "mlflow.model_linked": "An MLflow registered model was linked to the Attest model it is imported into.",
    "mlflow.version_imported": "An MLflow model version was imported as an Attest version (or linked to the "
    "version with the same artifact).",
    "mlflow.evaluation_imported": "An MLflow GenAI evaluation run of an imported version was read into a judged "
    "evaluation.",
    "mlflow.version_tags_changed": "An imported MLflow model version's tags changed in MLflow.",
}

# Background jobs (the jobs app): the same four events for every kind of job, named by the kind.
JOB_KINDS = (
    "check",
    "report",
    "bundle",
    "dataset_profile",
    "audit_verification",
    "webhook_delivery",
    "grc_delivery",
    "mlflow_sync",
)
JOB_EVENTS = {
    "started": "A worker claimed the {kind} job (attempt n).",
    "requeued": "The {kind} job's worker stopped renewing its lease, or its task was lost: sent again.",
    "retrying": "An attempt of the {kind} job failed; the next is due after a backoff.",
    "failed": "The {kind} job failed for good, with its reason.",
}
for _kind in JOB_KINDS:
    for _event, _meaning in JOB_EVENTS.items():
        ACTIONS.setdefault(f"{_kind}.{_event}", _meaning.format(kind=_kind.replace("_", " ")))
