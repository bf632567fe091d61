"""Directories: the SCIM 2.0 service provider an organization's IdP provisions through
(RFC 7643/7644), on scim2-models and scim2-server, behind our own interface.

- `service`: one SCIM request in, one SCIM response out: authenticate the bearer token,
  normalise what vendors send (`quirks`), let scim2-server's handler do the protocol, all
  in one unit of work, then log the outcome for the portal.
- `storage`: scim2-server's `ScimStorage` on our tables (`broker.store.protocols_directories`),
  recording each change's event in the same transaction.
- `filters`: scim2-models' parsed filter tree -> the store's neutral `Filter`, refusing
  what the store cannot answer (`invalidFilter`).
- `resources`: SCIM resources <-> `DirectoryUser`/`DirectoryGroup`.
- `tokens`: bearer tokens (random, shown once, stored as SHA-256).
- `quirks`: what Okta and Entra ID send that RFC 7644 does not say, made standard.

No web framework here: `broker.web.scim` is a thin adapter.
"""
