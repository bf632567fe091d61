"""The login between `/authorize` and the code: route the person, hand off to the upstream
connector, verify what comes back, apply policy, and let the OP issue the code.

    /authorize ──Provider.begin──▶ flow ──route──▶ connector.begin_login ──▶ upstream IdP
                                   │ (no hint: email page /login; several: chooser)
    upstream ──ACS / callback──▶ connector.complete_login ──policy──▶ Provider.finish

This package is the only one that knows both the OP (`broker.oidc`) and the connectors
(`broker.upstream`); each of those stays ignorant of the other.
"""
