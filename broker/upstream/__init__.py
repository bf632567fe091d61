"""Connectors to customer IdPs: one per protocol, behind one small interface (`base.py`).

A *connection* (stored, versioned data) is parsed by its `ConnectorConfig` and opened into a
stateless *connector*. The broker owns all state: the flow id travels upstream as `state` /
`RelayState`, and whatever the connector must check on return (AuthnRequest ID, nonce, PKCE
verifier) is handed back to it as `connector_state`.

    begin_login(flow)            -> LoginStart(Redirect | AutoPost, connector_state)
    complete_login(flow, input)  -> UpstreamIdentity | raises UpstreamRejected / UpstreamInvalid
"""
