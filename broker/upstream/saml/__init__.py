"""SAML 2.0 connections (SP side), on python3-saml and libxmlsec1.

config.py            the connection's settings, parsed and checked
idp_metadata.py      IdP metadata from a file or URL
setup.py             a new connection's settings, with SP keys we generate
sp.py                python3-saml settings, AuthnRequests, SP metadata
xmlsig.py            signature shape checks and pinned-key verification
xmlenc.py            which encrypted assertions we decrypt
validate.py          who signed the SAMLResponse (the first phase of its checks)
assertion_checks.py  was it meant for this login, now (the second phase)
attributes.py        vendor attribute names -> our claims
connector.py         the UpstreamConnector

Every check refuses with the error the login records: `UpstreamInvalid` with its `Reason`
and the facts a diagnosis shows (`UpstreamRejected` for a non-success status), raised where
the check fails. python3-saml's and xmlsec's own exceptions are caught where they are called.
"""

from broker.upstream.saml.config import SamlConnectionConfig

__all__ = ["SamlConnectionConfig"]
