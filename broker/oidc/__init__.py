"""The OpenID Provider toward Auth0 (or any strict relying party).

    GET  /.well-known/openid-configuration   discovery.py (the promises)
    GET  /authorize    authorize.py checks -> Provider.begin -> flow   (hand-off to login)
                       Provider.finish(flow, claims) -> code           (resume)
    POST /token        _authlib.py grant -> tokens.py (ID token, access token)
    GET|POST /userinfo Provider.userinfo

authlib is confined to `_authlib.py`; nothing here imports the connectors.
"""
