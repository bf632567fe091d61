"""Connecting an app's Auth0 tenant to Gatehouse through Auth0's Management API.

Auth0 trusts Gatehouse as one OpenID Connect enterprise connection. These modules keep that
connection what Gatehouse needs (`gatehouse auth0 connect`), keep its IdP domains
(`domain_aliases`) equal to the domains organizations have verified (`gatehouse auth0
sync`), and write the post-login Action that copies the organization claims into the app's
tokens.

    options.py   pure: the connection's options and body Gatehouse wants
    aliases.py   pure: which IdP domains to add and remove, and the record, kept in the
                 connection's own `metadata`, of the ones Gatehouse added
    api.py       the Management API through auth0-python (the only module importing it);
                 Auth0's refusals become `Auth0Refused`
    setup.py     connect and sync: the store, the Gatehouse client and the API together
    action.py    the post-login Action's text (templates/post_login_action.js)
"""
