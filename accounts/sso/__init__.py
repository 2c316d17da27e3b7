"""Single sign-on protocols (OpenID Connect, SAML 2.0): the browser round trips to an identity provider."""
