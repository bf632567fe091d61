"""OpenID Connect connections (Gatehouse as the relying party of a customer's OP).

config.py             the connection's settings, parsed and checked
vendors.py            what Entra ID, Google Workspace and Okta need beyond the standard
provider_metadata.py  discovery (issuer-checked, refreshed) or hand-given endpoints
signing_keys.py       the IdP's JWKS, cached, refetched at most once a minute on a new kid
id_token.py           every ID token check, in order, each with its reason
token_endpoint.py     code redemption with client authentication; userinfo
profile.py            claims -> UpstreamIdentity (subject, same-source email rules, vendors)
setup.py              a new connection's settings: encrypted secret or generated key
connector.py          the UpstreamConnector
"""

from broker.upstream.oidc.config import OidcConnectionConfig

__all__ = ["OidcConnectionConfig"]
