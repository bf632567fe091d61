"""A built-in SAML 2.0 IdP and OpenID Provider simulator: an independent party for demos and
tests (issue 3).

It shares no code with the broker on purpose: a simulator that reused the broker's SAML or OIDC
helpers would share its bugs, and end-to-end tests would pass against them.

Entry points: `idp_simulator.app.create_app` (ASGI; the OP is mounted under `/oidc`),
`idp_simulator.idp.SimulatedIdp` and `idp_simulator.oidc_op.SimulatedOp` (the framework-free
cores), `idp_simulator.signing` and `idp_simulator.response` (to make golden SAML files),
`python -m idp_simulator` (a server).
"""
