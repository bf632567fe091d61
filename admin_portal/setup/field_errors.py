"""A refused save, as a form shows it: each error beside the field it is about, in words an
IT admin acts on.

The use cases answer with JSON Pointers into the settings they were given
(`/settings/sso_url`, `/settings/certificates/0`) and short messages written for every door
(API, CLI, portal). Here a pointer becomes the form field that fed it, and the terse
messages ("is required", "must be an absolute https URL") become sentences naming the
field. Messages already written as sentences (capitalized) are kept as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from broker.management.errors import InvalidInput

#: Where an error with no better place goes: the top of the form.
FORM = "form"

#: The settings pointer (first two segments) -> the form field.
_FIELDS = {
    "/settings/metadata_url": "metadata_url",
    "/settings/metadata_xml": "metadata_file",
    "/settings/idp_entity_id": "idp_entity_id",
    "/settings/sso_url": "sso_url",
    "/settings/sso_binding": "sso_url",
    "/settings/certificates": "certificate",
    "/settings/issuer": "issuer",
    "/settings/endpoints": "issuer",
    "/settings/vendor": "issuer",
    "/settings/client_id": "client_id",
    "/settings/client_secret": "client_secret",
    "/settings/client_key": "token_endpoint_auth_method",
    "/settings/token_endpoint_auth_method": "token_endpoint_auth_method",
    "/settings/ca_bundle": "ca_bundle",
    "/name": "name",
}

LABELS = {
    "metadata_url": "The metadata URL",
    "metadata_file": "The metadata file",
    "idp_entity_id": "The IdP entity ID",
    "sso_url": "The SSO URL",
    "certificate": "The certificate",
    "issuer": "The issuer",
    "client_id": "The client ID",
    "client_secret": "The client secret",
    "token_endpoint_auth_method": "The authentication method",
    "ca_bundle": "The certificate authority",
    "name": "The domain name",
}

#: Terse core messages -> what to say instead ({label} is the field's).
_PLAIN = {
    "is required": "{label} is required.",
    "is required without metadata": "{label} is required.",
    "must be an absolute https URL": "{label} must be a full address starting with https://.",
    "not a PEM X.509 certificate": "This is not a certificate. Give the identity provider's "
    "signing certificate: a .pem, .crt or .cer file, or its text.",
    "not a certificate: give it as PEM or base64 DER": "This is not a certificate. Give the "
    "identity provider's signing certificate: a .pem, .crt or .cer file, or its text.",
    "must be a list of strings": "{label} is required.",
}


@dataclass(frozen=True, slots=True)
class FormErrors:
    """Messages by form field (`FORM` for the form as a whole), in the order raised."""

    by_field: Mapping[str, str]

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def get(self, field: str) -> str | None:
        return self.by_field.get(field)


NO_ERRORS = FormErrors({})


def form_errors(error: InvalidInput, extra: Mapping[str, str] | None = None) -> FormErrors:
    """`extra`: pointers this form adds (`/settings/attribute_mapping/email` -> the
    `names_email` field)."""
    found: dict[str, str] = {}
    for item in error.errors:
        field = field_for(item.pointer, extra or {})
        found.setdefault(field, plain(item.detail, field))
    return FormErrors(found)


def field_for(pointer: str, extra: Mapping[str, str]) -> str:
    for prefix, field in {**extra, **_FIELDS}.items():
        if pointer == prefix or pointer.startswith(prefix + "/"):
            return field
    return FORM


def plain(detail: str, field: str) -> str:
    label = LABELS.get(field, "This value")
    text = detail.strip()
    if text in _PLAIN:
        return _PLAIN[text].format(label=label)
    if text.startswith(("is ", "must ")):
        return f"{label} {text}."
    return sentence(text)


def sentence(text: str) -> str:
    """`text` as a sentence: capitalized (unless it starts with a name, `acme.example`, that
    must stay as it is) and ending with a full stop."""
    first = text.split(" ", 1)[0]
    if not any(mark in first for mark in "./:@"):
        text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."
