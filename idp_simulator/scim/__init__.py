"""The simulator's SCIM side (issue 17, item 6): a directory that provisions an app as Okta
does and as Entra ID does, quirks included, against any SCIM 2.0 service provider.

Layout: `directory` makes the people and groups (deterministic from a seed); `client` is
the HTTP side (bearer token, keep-alive, a record of every exchange); `dialect` is the
interface each vendor module (`okta`, `entra`) implements, citing what that vendor sends;
`sync` holds the ids the server gave and measures phases; `scenarios` are the named plays
(initial sync, leaver, rename, email change, group churn, retried create, mass
deactivation); `cli` is `python -m idp_simulator scim ...`; `routes` is the page's form.

It is a client only and speaks plain SCIM over HTTP, so it shares nothing with the
broker's SCIM server: a bug the two shared would pass every test.
"""
