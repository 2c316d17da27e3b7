"""UI routes of the governance app: accounts, approvals, findings and the audit log."""

from django.contrib.auth import views as auth_views
from django.urls import path, re_path

from governance.views import accounts, approvals, audit, evidence, findings, reviews

urlpatterns = [
    path("login/", accounts.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/password/", accounts.PasswordChangeView.as_view(), name="password_change"),
    path("account/tokens/", accounts.token_list, name="token-list"),
    path("account/tokens/<str:token_key>/revoke/", accounts.token_revoke, name="token-revoke"),
    path("account/totp/", accounts.totp, name="totp"),
    path("account/totp/remove/", accounts.totp_remove, name="totp-remove"),
    path("approvals/", approvals.approval_list, name="approval-list"),
    path("approvals/new/", approvals.approval_new, name="approval-new"),
    path("approvals/<int:pk>/", approvals.approval_detail, name="approval-detail"),
    path("approvals/<int:pk>/sign/", approvals.approval_sign, name="approval-sign"),
    path("approvals/<int:pk>/cancel/", approvals.approval_cancel, name="approval-cancel"),
    path("evidence/<int:pk>/", evidence.evidence_detail, name="evidence-detail"),
    path(
        "models/<slug:name>/versions/<int:number>/evidence/new/", evidence.evidence_new, name="evidence-new"
    ),
    path("models/<slug:name>/reviews/open/", reviews.review_open, name="review-open"),
    path("reviews/<int:pk>/", reviews.review_detail, name="review-detail"),
    path("reviews/<int:pk>/attach/", reviews.review_attach, name="review-attach"),
    path("reviews/<int:pk>/complete/", reviews.review_complete, name="review-complete"),
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
    path("audit/", audit.audit_log, name="audit-log"),
    path("audit/verify/", audit.audit_verify, name="audit-verify"),
    path("audit/verifications/<int:pk>/", audit.audit_verification, name="audit-verification"),
]
