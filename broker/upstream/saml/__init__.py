"""SAML 2.0 connections (SP side), on python3-saml and libxmlsec1.

config.py        the connection's settings, parsed and checked
idp_metadata.py  IdP metadata from a file or URL
setup.py         a new connection's settings, with SP keys we generate
sp.py            python3-saml settings, AuthnRequests, SP metadata
xmlsig.py        signature/encryption shape checks and pinned-key verification
validate.py      every check on a SAMLResponse, in order
attributes.py    vendor attribute names -> our claims
connector.py     the UpstreamConnector
"""

from broker.upstream.saml.config import SamlConnectionConfig

__all__ = ["SamlConnectionConfig"]
