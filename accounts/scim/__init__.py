"""SCIM 2.0 provisioning endpoints (RFC 7643/7644) at ``/scim/v2/``: the protocol's JSON, on top of
``accounts.services.scim``."""
