"""A built-in IdP simulator: an independent SAML IdP and OIDC OP for demos and tests (issue 3)."""
