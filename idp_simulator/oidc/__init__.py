"""The simulated OpenID Provider: authorize, token and userinfo endpoints, ID tokens and the
scenario table of wrong answers."""
