"""A demo relying party that plays Auth0's part in front of Gatehouse.

It is an independent party on purpose: it imports nothing from `broker`, `admin_portal` or
`idp_simulator`, so it can only see what a real RP sees (discovery, JWKS, the token and userinfo
endpoints) and cannot pass because it shares code with the provider it checks.
`demo_rp.oidc_client` holds the strict, framework-free RP logic that end-to-end tests reuse;
`demo_rp.app` is the clickable page behind `make run`.
"""
