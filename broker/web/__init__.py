"""The Starlette adapter: the only package in `broker` that imports Starlette or Jinja2.

Every endpoint has one shape: read the request into an `HttpRequest`, call the core once in
the thread pool (the core is synchronous: authlib, xmlsec, SQLAlchemy sessions), and turn
the neutral result into a response. The login routes and `/token` run that call under their
rate limits (`limits.py`), which refuse before the core does any work.

    GET  /.well-known/openid-configuration   Provider.discovery
    GET  /jwks.json                          Provider.jwks
    GET|POST /authorize                      LoginService.authorize
    POST /token                              Provider.token
    GET|POST /userinfo                       Provider.userinfo
    POST /login                              LoginService.submit_email
    POST /login/choose                       LoginService.choose
    POST /saml/{connection_id}/acs           LoginService.callback (SAML ACS)
    GET  /saml/{connection_id}/metadata      LoginService.metadata (SP metadata)
    GET  /oidc/{connection_id}/callback      LoginService.callback (OIDC redirect URI)
    GET  /oidc/{connection_id}/jwks.json     LoginService.metadata (private_key_jwt key)
    GET|POST /callback/{connection_id}       LoginService.callback (other kinds)
"""
