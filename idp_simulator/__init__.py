"""A built-in SAML 2.0 IdP and OpenID Provider simulator: an independent party for demos and
tests (issue 3).

It shares no code with the broker on purpose: a simulator that reused the broker's SAML or OIDC
helpers would share its bugs, and end-to-end tests would pass against them.

Layout: `saml/` is the SAML IdP, `oidc/` the OpenID Provider; beside them sit what both
share (keys, the login form, pending requests, the simulated user, page rendering).

Entry points: `idp_simulator.app.create_app` (ASGI; the OP is mounted under `/oidc`),
`idp_simulator.saml.idp.SimulatedIdp` and `idp_simulator.oidc.provider.SimulatedOp` (the
framework-free cores), `idp_simulator.saml.signing` and `idp_simulator.saml.response` (to make
golden SAML files), `python -m idp_simulator` (a server).
"""
