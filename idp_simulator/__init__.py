"""A built-in SAML 2.0 IdP and OpenID Provider simulator: an independent party for demos and
tests (issue 3).

It shares no code with the broker on purpose: a simulator that reused the broker's SAML or OIDC
helpers would share its bugs, and end-to-end tests would pass against them.

Layout: `saml/` is the SAML IdP, `oidc/` the OpenID Provider, `scim/` a directory that
provisions an app over SCIM as Okta or Entra ID would (issue 17); beside them sit what all
share (keys, the login form, pending requests, the simulated user, page rendering).

Entry points: `idp_simulator.app.create_app` (ASGI; the OP is mounted under `/oidc`),
`idp_simulator.saml.idp.SimulatedIdp` and `idp_simulator.oidc.provider.SimulatedOp` (the
framework-free cores), `idp_simulator.saml.signing` and `idp_simulator.saml.response` (to make
golden SAML files), `python -m idp_simulator` (a server; `... scim` provisions).
"""
