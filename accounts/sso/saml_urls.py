"""``/sso/saml/<name>/…``: the SAML 2.0 service provider of each SAML identity provider (accounts.sso.saml).

The views load pysaml2 at their first request, not at URL loading: building its XML schemas takes about a
second, which every web, worker and test process would pay otherwise, most of them never serving SAML.
"""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt


def _lazy(name: str):
    def view(request, **kwargs):
        from accounts.sso import saml

        return getattr(saml, name)(request, **kwargs)

    view.__name__ = name
    return view


urlpatterns = [
    path("<slug:name>/metadata/", _lazy("metadata"), name="sso-saml-metadata"),
    path("<slug:name>/login/", _lazy("login_start"), name="sso-saml-login"),
    path("<slug:name>/step-up/", _lazy("step_up_start"), name="sso-saml-step-up"),
    # the IdP's form posts here; the response's signature and InResponseTo are the protection, not a token
    path("<slug:name>/acs/", csrf_exempt(_lazy("acs")), name="sso-saml-acs"),
]
