"""UI routes of the governance workflow: approvals, evidence, reviews, findings, the monitoring alert inbox
(escalating an alert raises a finding) and the audit log's pages."""

from django.urls import path, re_path

from workflow.views import (
    alerts,
    approvals,
    audit,
    evidence,
    finding_management,
    findings,
    notifications,
    red_team,
    reviews,
    validation_documents,
)

urlpatterns = [
    path("approvals/", approvals.approval_list, name="approval-list"),
    path("approvals/new/", approvals.approval_new, name="approval-new"),
    path("approvals/<int:pk>/", approvals.approval_detail, name="approval-detail"),
    path("approvals/<int:pk>/sign/", approvals.approval_sign, name="approval-sign"),
    path(
        "approvals/<int:pk>/sign/step-up/<int:step_up_id>/",
        approvals.approval_sign_finish,
        name="approval-sign-finish",
    ),
    path("approvals/<int:pk>/cancel/", approvals.approval_cancel, name="approval-cancel"),
    path("approvals/<int:pk>/delegate/", approvals.approval_delegate, name="approval-delegate"),
    path("notifications/", notifications.notification_list, name="notification-list"),
    path("notifications/read-all/", notifications.notification_read_all, name="notification-read-all"),
    path("notifications/<int:pk>/read/", notifications.notification_read, name="notification-read"),
    path("evidence/<int:pk>/", evidence.evidence_detail, name="evidence-detail"),
    path("red-team-runs/<int:pk>/", red_team.red_team_detail, name="red-team-detail"),
    path(
        "models/<slug:name>/versions/<int:number>/red-team-runs/new/",
        red_team.red_team_new,
        name="red-team-new",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/evidence/new/", evidence.evidence_new, name="evidence-new"
    ),
    path(
        "models/<slug:name>/versions/<int:number>/validation/",
        validation_documents.validation_document,
        name="validation-document",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/validation/annex-iv/",
        validation_documents.annex_iv_supply,
        name="validation-annex-iv",
    ),
    path("models/<slug:name>/reviews/open/", reviews.review_open, name="review-open"),
    path("reviews/<int:pk>/", reviews.review_detail, name="review-detail"),
    path("reviews/<int:pk>/attach/", reviews.review_attach, name="review-attach"),
    path("reviews/<int:pk>/complete/", reviews.review_complete, name="review-complete"),
    path(
        "reviews/<int:pk>/complete/step-up/<int:step_up_id>/",
        reviews.review_complete_finish,
        name="review-complete-finish",
    ),
    path("reviews/<int:pk>/cancel/", reviews.review_cancel, name="review-cancel"),
    re_path(
        r"^tier-changes/(?P<pk>[0-9]+)/(?P<decision>accept|reject)/$",
        reviews.tier_change_decide,
        name="tier-change-decide",
    ),
    path("findings/", findings.finding_list, name="finding-list"),
    path("findings/new/", findings.finding_new, name="finding-new"),
    path("findings/<int:pk>/", findings.finding_detail, name="finding-detail"),
    path("findings/<int:pk>/status/", findings.finding_status, name="finding-status"),
    path("findings/<int:pk>/close/", findings.finding_close, name="finding-close"),
    path("findings/<int:pk>/comments/", finding_management.comment_add, name="finding-comment-add"),
    path("findings/<int:pk>/plans/", finding_management.plan_add, name="finding-plan-add"),
    path(
        "findings/<int:pk>/plans/<int:plan_pk>/milestones/",
        finding_management.milestone_add,
        name="finding-milestone-add",
    ),
    path(
        "findings/<int:pk>/plans/<int:plan_pk>/milestones/<int:milestone_pk>/done/",
        finding_management.milestone_done,
        name="finding-milestone-done",
    ),
    path("findings/<int:pk>/extensions/", finding_management.extension_add, name="finding-extension-add"),
    re_path(
        r"^findings/(?P<pk>[0-9]+)/extensions/(?P<extension_pk>[0-9]+)/(?P<decision>approve|reject)/$",
        finding_management.extension_decide,
        name="finding-extension-decide",
    ),
    path("findings/<int:pk>/attachments/", finding_management.attachment_add, name="finding-attachment-add"),
    path(
        "findings/<int:pk>/attachments/<int:attachment_pk>/",
        finding_management.attachment_download,
        name="finding-attachment-download",
    ),
    path("monitoring/", alerts.alert_list, name="monitoring-alert-list"),
    path("monitoring/alerts/<int:pk>/", alerts.alert_detail, name="monitoring-alert-detail"),
    path(
        "monitoring/alerts/<int:pk>/acknowledge/",
        alerts.alert_acknowledge,
        name="monitoring-alert-acknowledge",
    ),
    path("monitoring/alerts/<int:pk>/snooze/", alerts.alert_snooze, name="monitoring-alert-snooze"),
    path("monitoring/alerts/<int:pk>/escalate/", alerts.alert_escalate, name="monitoring-alert-escalate"),
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/verify/", audit.audit_verify, name="audit-verify"),
    path("audit/verifications/<int:pk>/", audit.audit_verification, name="audit-verification"),
]
