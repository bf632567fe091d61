"""The SAML connector: AuthnRequest out, SAMLResponse in, an identity or a refusal.

Opened once per connection version (the cache in `registry.py`): keys are decrypted,
certificates loaded and python3-saml settings built here, not per login.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import xmlsec
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from broker.http import HttpResponse
from broker.model.reasons import Reason
from broker.model.records import Evidence, UpstreamIdentity
from broker.upstream.base import (
    CallbackInput,
    ConnectorDeps,
    FlowContext,
    LoginStart,
    UpstreamError,
    UpstreamIncomplete,
    UpstreamInvalid,
)
from broker.upstream.saml.assertion_checks import check_assertion, is_transient
from broker.upstream.saml.attributes import expected_names, map_attributes
from broker.upstream.saml.config import METADATA_TYPE, NAMEID_EMAIL, SamlConnectionConfig
from broker.upstream.saml.sp import (
    SpKeys,
    build_authn_request,
    open_sp_keys,
    python3_saml_settings,
    sp_metadata,
)
from broker.upstream.saml.validate import (
    Expectations,
    VerifiedAssertion,
    authenticate,
    evidence,
)
from broker.upstream.saml.xmlsig import (
    load_verification_keys,
    pem_fingerprint,
)
from broker.upstream.urls import ConnectionEndpoints

log = logging.getLogger(__name__)


class SamlConnector:
    def __init__(
        self,
        *,
        config: SamlConnectionConfig,
        deps: ConnectorDeps,
        endpoints: ConnectionEndpoints,
        sp_keys: SpKeys,
        request_settings: OneLogin_Saml2_Settings,
        response_settings: OneLogin_Saml2_Settings,
        idp_keys: tuple[xmlsec.Key, ...],
    ) -> None:
        self._config = config
        self._deps = deps
        self._endpoints = endpoints
        self._sp_keys = sp_keys
        self._request_settings = request_settings
        self._response_settings = response_settings
        self._idp_keys = idp_keys
        #: The pinned certificates' SHA-256 fingerprints, in `idp_keys`' order.
        self._fingerprints = tuple(pem_fingerprint(p) for p in config.idp_certificates)
        self._metadata = sp_metadata(
            endpoints,
            signing_cert_pem=sp_keys.signing_cert_pem,
            encryption_cert_pem=sp_keys.encryption_cert_pem,
            name_id_format=config.name_id_format,
            want_assertions_signed=config.require_assertion_signature,
            allow_cbc_encryption=config.allow_cbc_encryption,
        )

    @classmethod
    def open(
        cls, config: SamlConnectionConfig, deps: ConnectorDeps, endpoints: ConnectionEndpoints
    ) -> SamlConnector:
        keys = open_sp_keys(config, deps.secrets, endpoints.connection_id)
        return cls(
            config=config,
            deps=deps,
            endpoints=endpoints,
            sp_keys=keys,
            request_settings=python3_saml_settings(
                config,
                endpoints,
                private_key_pem=keys.signing_key_pem,
                certificate_pem=keys.signing_cert_pem,
            ),
            response_settings=python3_saml_settings(
                config,
                endpoints,
                private_key_pem=keys.encryption_key_pem,
                certificate_pem=keys.encryption_cert_pem,
            ),
            idp_keys=load_verification_keys(config.idp_certificates),
        )

    def describe(self) -> HttpResponse:
        return HttpResponse(
            body=self._metadata,
            headers={"content-type": METADATA_TYPE},
        )

    def begin_login(self, flow: FlowContext) -> LoginStart:
        # RelayState is the flow id: an opaque key to server-side state, never a URL (S-38),
        # and 43 characters, under the 80-byte limit of SAML Bindings §3.4.3.
        out = build_authn_request(
            self._config,
            self._request_settings,
            self._sp_keys,
            relay_state=flow.flow_id,
            force_authn=flow.force_reauthentication or flow.max_age is not None,
            subject_hint=flow.login_hint,
        )
        return LoginStart(action=out.action, connector_state=out.request_id.encode())

    def complete_login(self, flow: FlowContext, callback: CallbackInput) -> UpstreamIdentity:
        request_id = flow.connector_state.decode()
        if not request_id:
            raise UpstreamInvalid(Reason.NO_REQUEST, detail="this flow sent no AuthnRequest")
        expect = Expectations(
            idp_entity_id=self._config.idp_entity_id,
            idp_certificates=self._config.idp_certificates,
            sp_entity_id=self._endpoints.entity_id,
            acs_url=self._endpoints.callback_url,
            request_id=request_id,
            now=self._deps.clock.now(),
            skew=timedelta(seconds=self._config.clock_skew_seconds),
            allow_sha1=self._config.allow_sha1,
            allow_cbc_encryption=self._config.allow_cbc_encryption,
            require_assertion_signature=self._config.require_assertion_signature,
            require_encrypted_assertion=self._config.require_encrypted_assertion,
        )
        # Every check raises the refusal the login records, with its facts; only what the
        # IdP signed is added here, once its signatures verified.
        authenticated = authenticate(
            callback.form.get("SAMLResponse"),
            settings=self._response_settings,
            keys=self._idp_keys,
            expect=expect,
        )
        shown = evidence(authenticated)
        try:
            # Before the per-login checks, so a replayed assertion is reported as a replay
            # whichever flow it is posted into, and remembered in every broker process.
            if not self._deps.replays.first_use(
                f"saml:{self._endpoints.connection_id}",
                authenticated.assertion_id,
                expires_at=authenticated.valid_until,
            ):
                raise UpstreamInvalid(
                    Reason.REPLAYED,
                    detail=f"assertion {authenticated.assertion_id}",
                    facts={"assertion_id": authenticated.assertion_id[:200]},
                )
            verified = check_assertion(authenticated, expect)
            identity = self._identity(verified, shown)
        except UpstreamError as exc:
            exc.evidence = shown
            raise
        self._report_signers(authenticated.signed_with)
        return identity

    def _report_signers(self, signed_with: tuple[int, ...]) -> None:
        """Which pinned certificates this login verified under (CertificateUse). The
        indices are positions in this connector's own pinned list, which the fingerprints
        were computed from in the same order."""
        use = self._deps.certificate_use
        if use is None:
            return
        for index in signed_with:
            use.verified(self._endpoints.connection_id, self._fingerprints[index])

    def _identity(self, verified: VerifiedAssertion, shown: Evidence) -> UpstreamIdentity:
        config = self._config
        mapped = map_attributes(
            verified.attributes,
            profile=config.attribute_profile,
            overrides=config.attribute_mapping,
        )
        if len(set(mapped.email_values)) > 1:
            raise UpstreamInvalid(
                Reason.AMBIGUOUS_EMAIL,
                detail="the email attribute has several values",
                facts={"email_values": ", ".join(sorted(set(mapped.email_values)))[:500]},
            )
        email = mapped.email
        if email is None and verified.name_id_format == NAMEID_EMAIL:
            email = verified.name_id
        if config.subject_attribute:
            values = verified.attributes.get(config.subject_attribute) or []
            if len(values) != 1:
                raise UpstreamIncomplete(
                    ("subject",),
                    looked_for=f"exactly one {config.subject_attribute!r}",
                    facts=_received(verified),
                )
            subject = values[0]
        elif is_transient(verified):
            raise UpstreamInvalid(
                Reason.TRANSIENT_NAMEID,
                detail="a transient NameID changes at every login; configure subject_attribute",
                facts=_received(verified),
            )
        else:
            subject = verified.name_id
        present = {
            "email": email,
            "given_name": mapped.given_name,
            "family_name": mapped.family_name,
            "name": mapped.name,
            "groups": mapped.groups or None,
        }
        missing = tuple(claim for claim in config.required_claims if not present.get(claim))
        if missing:
            looked_for = "; ".join(
                f"{claim}: {expected_names(claim, profile=config.attribute_profile, overrides=config.attribute_mapping)}"  # noqa: E501
                for claim in missing
            )
            raise UpstreamIncomplete(missing, looked_for=looked_for, facts=_received(verified))
        raw: dict[str, object] = dict(mapped.raw)
        raw["saml_name_id"] = verified.name_id
        if verified.name_id_format:
            raw["saml_name_id_format"] = verified.name_id_format
        return UpstreamIdentity(
            subject=subject,
            auth_time=verified.authn_instant,
            email=email,
            given_name=mapped.given_name,
            family_name=mapped.family_name,
            name=mapped.name,
            groups=mapped.groups,
            raw_attributes=raw,
            evidence=shown,
        )


def _received(verified: VerifiedAssertion) -> dict[str, str]:
    """What the IdP did send, for a diagnosis of what it left out."""
    return {
        "received_attributes": ", ".join(sorted(verified.attributes))[:2000] or "(none)",
        "name_id": verified.name_id[:300],
        "name_id_format": (verified.name_id_format or "(none)")[:200],
    }
