"""Every reason a login can be refused for, as one enumeration, and which part gives which.

A reason is a stable machine code: the audit log and the portal's test results store it, the
events API returns it, the person's page and the IT admin's diagnosis are chosen by it. The
members are `StrEnum`s, so a member *is* its stored string (`Reason.WRONG_AUDIENCE ==
"wrong_audience"`); a value never changes once released.

The groups below say which reasons each part can give, so the parts that turn reasons into
words (pages, diagnoses, explanations) are checked against them by enumeration. A reason may
be in several groups: both connectors check an audience.

A refusal the IdP itself made is recorded with its own code after the reason:
`idp_refused:access_denied`, `idp_refused:Responder / AuthnFailed` (`idp_refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum, unique


@unique
class Reason(StrEnum):
    # -- routing: no connection fits (the email page says why; logged, not an event) --------
    INVALID_EMAIL = "invalid_email"
    UNKNOWN_DOMAIN = "unknown_domain"
    UNKNOWN_ORGANIZATION = "unknown_organization"
    UNKNOWN_CONNECTION = "unknown_connection"
    NO_ACTIVE_CONNECTION = "no_active_connection"

    # -- the login's own, around the connector (broker/login) ---------------------------------
    #: The flow is absent, expired or already used.
    FLOW_EXPIRED = "flow_expired"
    #: A login form posted from another browser or site, or without its token.
    FORM_REFUSED = "form_refused"
    BROWSER_MISMATCH = "browser_mismatch"
    WRONG_CONNECTION = "wrong_connection"
    CONNECTION_INACTIVE = "connection_inactive"
    ANSWER_ALREADY_USED = "answer_already_used"
    #: A bug, not a refusal; recorded so every attempt is on the audit trail.
    INTERNAL_ERROR = "internal_error"
    # The organization's rules on a verified identity (broker/model/login_policy.py).
    EMAIL_DOMAIN_NOT_VERIFIED = "email_domain_not_verified"
    HOSTED_DOMAIN_NOT_VERIFIED = "hosted_domain_not_verified"
    #: A portal test login whose connection's settings changed while it ran.
    SETTINGS_CHANGED = "settings_changed"
    # The organization's directory (broker/model/directory_access.py): the person is
    # deactivated there, or not listed by a directory that lists people.
    DIRECTORY_USER_INACTIVE = "directory_user_inactive"
    DIRECTORY_USER_UNKNOWN = "directory_user_unknown"

    # -- any connector: the IdP said no, or left out what the connection requires -----------
    #: Recorded with the IdP's code: `idp_refused:<code>`.
    IDP_REFUSED = "idp_refused"
    MISSING_ATTRIBUTES = "missing_attributes"
    #: The flow holds no request of this connector's (no AuthnRequest, no nonce).
    NO_REQUEST = "no_request"
    # Checks both protocols make, each on its own message.
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    SIGNATURE_INVALID = "signature_invalid"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"

    # -- the SAML connector (broker/upstream/saml) -------------------------------------------
    MISSING_RESPONSE = "missing_response"
    RESPONSE_TOO_LARGE = "response_too_large"
    #: Not XML, not a SAML 2.0 Response, failed decryption (one reason: no oracle, X-03).
    MALFORMED = "malformed"
    SCHEMA_INVALID = "schema_invalid"
    DUPLICATE_ID = "duplicate_id"
    BAD_SIGNATURE_STRUCTURE = "bad_signature_structure"
    WEAK_ALGORITHM = "weak_algorithm"
    BAD_ENCRYPTION_STRUCTURE = "bad_encryption_structure"
    CBC_NOT_ENABLED = "cbc_not_enabled"
    ENCRYPTION_REQUIRED = "encryption_required"
    WRONG_NUMBER_OF_ASSERTIONS = "wrong_number_of_assertions"
    UNSIGNED = "unsigned"
    ASSERTION_UNSIGNED = "assertion_unsigned"
    REPLAYED = "replayed"
    WRONG_DESTINATION = "wrong_destination"
    IN_RESPONSE_TO_MISMATCH = "in_response_to_mismatch"
    #: An IdP-initiated login; also the login's own name for a SAMLResponse without RelayState.
    UNSOLICITED = "unsolicited"
    MISSING_AUDIENCE = "missing_audience"
    SUBJECT_CONFIRMATION_INVALID = "subject_confirmation_invalid"
    MISSING_AUTHN_STATEMENT = "missing_authn_statement"
    BAD_SUBJECT = "bad_subject"
    MISSING_NAMEID = "missing_nameid"
    TRANSIENT_NAMEID = "transient_nameid"
    AMBIGUOUS_EMAIL = "ambiguous_email"

    # -- the OIDC connector (broker/upstream/oidc) -------------------------------------------
    WRONG_ISSUER_PARAMETER = "wrong_issuer_parameter"
    MISSING_ISSUER_PARAMETER = "missing_issuer_parameter"
    NO_CODE = "no_code"
    # Its IdP's documents and endpoints: `_unavailable` could not be reached (or 5xx),
    # `_refused` the outbound guard refused the URL, `_invalid` could not be used.
    DISCOVERY_UNAVAILABLE = "discovery_unavailable"
    DISCOVERY_REFUSED = "discovery_refused"
    DISCOVERY_INVALID = "discovery_invalid"
    DISCOVERY_ISSUER_MISMATCH = "discovery_issuer_mismatch"
    NO_COMMON_ALGORITHM = "no_common_algorithm"
    JWKS_UNAVAILABLE = "jwks_unavailable"
    JWKS_REFUSED = "jwks_refused"
    JWKS_INVALID = "jwks_invalid"
    TOKEN_ENDPOINT_UNAVAILABLE = "token_endpoint_unavailable"
    TOKEN_ENDPOINT_REFUSED = "token_endpoint_refused"
    TOKEN_ERROR = "token_error"
    TOKEN_RESPONSE_INVALID = "token_response_invalid"
    USERINFO_UNAVAILABLE = "userinfo_unavailable"
    USERINFO_REFUSED = "userinfo_refused"
    USERINFO_INVALID = "userinfo_invalid"
    USERINFO_SUBJECT_MISMATCH = "userinfo_subject_mismatch"
    # The ID token.
    ID_TOKEN_TOO_LARGE = "id_token_too_large"
    ID_TOKEN_MALFORMED = "id_token_malformed"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    ISSUED_IN_FUTURE = "issued_in_future"
    AUTH_TIME_MISSING = "auth_time_missing"
    STALE_AUTHENTICATION = "stale_authentication"
    MISSING_SUBJECT = "missing_subject"
    NONCE_SUPPORTED_CLAIM = "nonce_supported_claim"
    NONCE_MISMATCH = "nonce_mismatch"
    AT_HASH_MISMATCH = "at_hash_mismatch"
    # The vendors' rules (Entra's tenant; Google's hd, the IdP's email_verified: a page each).
    WRONG_TENANT = "wrong_tenant"
    CONSUMER_ACCOUNT = "consumer_account"
    EMAIL_NOT_VERIFIED = "email_not_verified"
    # The bulkhead slot a connector waits on its IdP in (broker/upstream/bulkhead.py).
    IDP_BUSY = "idp_busy"
    IDP_CIRCUIT_OPEN = "idp_circuit_open"


_R = Reason  # short, for the sets below

#: No connection fits the person (broker/model/routing.py).
ROUTING_REASONS: frozenset[Reason] = frozenset(
    {_R.INVALID_EMAIL, _R.UNKNOWN_DOMAIN, _R.UNKNOWN_ORGANIZATION, _R.UNKNOWN_CONNECTION,
     _R.NO_ACTIVE_CONNECTION}
)  # fmt: skip

#: The login's own refusals around the connector: the answer's flow, browser and
#: connection, the organization's rules and directory, a test login's settings, a bug.
BROKER_REASONS: frozenset[Reason] = frozenset(
    {_R.FLOW_EXPIRED, _R.UNSOLICITED, _R.FORM_REFUSED, _R.BROWSER_MISMATCH, _R.WRONG_CONNECTION,
     _R.CONNECTION_INACTIVE, _R.ANSWER_ALREADY_USED, _R.UNKNOWN_CONNECTION, _R.INTERNAL_ERROR,
     _R.EMAIL_DOMAIN_NOT_VERIFIED, _R.HOSTED_DOMAIN_NOT_VERIFIED, _R.SETTINGS_CHANGED,
     _R.DIRECTORY_USER_INACTIVE, _R.DIRECTORY_USER_UNKNOWN}
)  # fmt: skip

#: Every reason the SAML connector gives.
SAML_REASONS: frozenset[Reason] = frozenset(
    {_R.IDP_REFUSED, _R.MISSING_ATTRIBUTES, _R.NO_REQUEST, _R.WRONG_ISSUER, _R.WRONG_AUDIENCE,
     _R.SIGNATURE_INVALID, _R.EXPIRED, _R.NOT_YET_VALID, _R.MISSING_RESPONSE,
     _R.RESPONSE_TOO_LARGE, _R.MALFORMED, _R.SCHEMA_INVALID, _R.DUPLICATE_ID,
     _R.BAD_SIGNATURE_STRUCTURE, _R.WEAK_ALGORITHM, _R.BAD_ENCRYPTION_STRUCTURE,
     _R.CBC_NOT_ENABLED, _R.ENCRYPTION_REQUIRED, _R.WRONG_NUMBER_OF_ASSERTIONS, _R.UNSIGNED,
     _R.ASSERTION_UNSIGNED, _R.REPLAYED, _R.WRONG_DESTINATION, _R.IN_RESPONSE_TO_MISMATCH,
     _R.UNSOLICITED, _R.MISSING_AUDIENCE, _R.SUBJECT_CONFIRMATION_INVALID,
     _R.MISSING_AUTHN_STATEMENT, _R.BAD_SUBJECT, _R.MISSING_NAMEID, _R.TRANSIENT_NAMEID,
     _R.AMBIGUOUS_EMAIL}
)  # fmt: skip

#: Every reason the OIDC connector gives, its IdP's bulkhead slot included.
OIDC_REASONS: frozenset[Reason] = frozenset(
    {_R.IDP_REFUSED, _R.MISSING_ATTRIBUTES, _R.NO_REQUEST, _R.WRONG_ISSUER, _R.WRONG_AUDIENCE,
     _R.SIGNATURE_INVALID, _R.EXPIRED, _R.NOT_YET_VALID, _R.WRONG_ISSUER_PARAMETER,
     _R.MISSING_ISSUER_PARAMETER, _R.NO_CODE, _R.DISCOVERY_UNAVAILABLE, _R.DISCOVERY_REFUSED,
     _R.DISCOVERY_INVALID, _R.DISCOVERY_ISSUER_MISMATCH, _R.NO_COMMON_ALGORITHM,
     _R.JWKS_UNAVAILABLE, _R.JWKS_REFUSED, _R.JWKS_INVALID, _R.TOKEN_ENDPOINT_UNAVAILABLE,
     _R.TOKEN_ENDPOINT_REFUSED, _R.TOKEN_ERROR, _R.TOKEN_RESPONSE_INVALID,
     _R.USERINFO_UNAVAILABLE, _R.USERINFO_REFUSED, _R.USERINFO_INVALID,
     _R.USERINFO_SUBJECT_MISMATCH, _R.ID_TOKEN_TOO_LARGE, _R.ID_TOKEN_MALFORMED,
     _R.ALGORITHM_NOT_ALLOWED, _R.UNKNOWN_KEY, _R.ISSUED_IN_FUTURE, _R.AUTH_TIME_MISSING,
     _R.STALE_AUTHENTICATION, _R.MISSING_SUBJECT, _R.NONCE_SUPPORTED_CLAIM, _R.NONCE_MISMATCH,
     _R.AT_HASH_MISMATCH, _R.WRONG_TENANT, _R.CONSUMER_ACCOUNT, _R.EMAIL_NOT_VERIFIED,
     _R.IDP_BUSY, _R.IDP_CIRCUIT_OPEN}
)  # fmt: skip

#: A connection kind -> the reasons its connector gives.
CONNECTOR_REASONS: Mapping[str, frozenset[Reason]] = {"saml": SAML_REASONS, "oidc": OIDC_REASONS}

#: What a portal test login records besides its connector's reasons: the organization's
#: domain rules, and settings changed while it ran. (A refusal of its flow itself, such as
#: another browser, is recorded as a login's, not as a test result.)
TEST_LOGIN_REASONS: frozenset[Reason] = frozenset(
    {_R.EMAIL_DOMAIN_NOT_VERIFIED, _R.HOSTED_DOMAIN_NOT_VERIFIED, _R.SETTINGS_CHANGED}
)

_IDP_REFUSED_PREFIX = f"{Reason.IDP_REFUSED.value}:"


def idp_refusal(code: str) -> str:
    """How a refusal the IdP made is stored (events, test results): `IDP_REFUSED` followed
    by the IdP's own code, `idp_refused:access_denied`. Every other refusal is stored as its
    member's value."""
    return f"{_IDP_REFUSED_PREFIX}{code}"


def parse_reason(recorded: str | None) -> Reason | None:
    """A stored reason as its member (`idp_refused:<code>` is `IDP_REFUSED`); None for one
    this release does not give (one an older release stored)."""
    if recorded is None:
        return None
    if recorded.startswith(_IDP_REFUSED_PREFIX):
        return Reason.IDP_REFUSED
    try:
        return Reason(recorded)
    except ValueError:
        return None


def idp_code(recorded: str) -> str:
    """The IdP's own code in a stored `idp_refused:<code>`; `recorded` itself otherwise."""
    return recorded.removeprefix(_IDP_REFUSED_PREFIX)
