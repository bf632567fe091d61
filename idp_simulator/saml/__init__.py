"""The simulated SAML 2.0 IdP: AuthnRequest parsing, metadata, signed responses and the
scenario table of wrong answers."""
