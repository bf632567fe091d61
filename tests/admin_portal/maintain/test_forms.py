"""The maintenance forms: add a certificate (pasted, a PEM or DER file, or the IdP's metadata
fetched again), remove one, a new OIDC client secret, switch over, discard. Each change is a
draft until switched over; a refusal is said beside its field, in words, and changes
nothing; what was pasted is never shown back."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from joserfc.jwk import RSAKey

from broker.store import Store
from tests.support.certificates import certificate_pem, fingerprint, idp_metadata
from tests.support.maintain_world import (
    IDP_ENTITY_ID,
    SSO_URL,
    MaintainWorld,
    build_maintain_world,
    op_key,
    world,
)
from tests.support.portal_forms import submit

__all__ = ["op_key", "world"]  # fixtures


def _pem(world: MaintainWorld, days: int = 500, name: str = "Next") -> str:
    return certificate_pem(not_after=world.clock.now() + timedelta(days=days), common_name=name)


def _field_error(page: httpx.Response, field: str) -> str:
    marker = f'<p class="field-error" id="{field}-error">'
    assert marker in page.text, page.text
    return page.text.split(marker, 1)[1].split("</p>", 1)[0]


def test_rotation_through_the_forms_keeps_the_active_settings_until_the_switch_over(
    world: MaintainWorld,
) -> None:
    org = world.organization()
    old = _pem(world, name="Old")
    connection = world.saml(org.id, old)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}"
    new = _pem(world)

    added = submit(browser, f"{path}/certificates", {"action": "add", "certificate_text": new})
    assert added.status_code == 303
    drafted = world.stored(connection.id)
    assert drafted.config == connection.config
    assert drafted.draft is not None
    assert [fingerprint(c) for c in drafted.draft["idp_certificates"]] == [
        fingerprint(old),
        fingerprint(new),
    ]

    # No switch-over before a passed test of exactly this draft.
    refused = submit(browser, f"{path}/switch-over", {"version": str(drafted.version)})
    assert refused.status_code == 409
    assert "Test a login with the changed settings first" in refused.text
    assert world.stored(connection.id) == drafted

    world.passed_test(connection, drafted.draft)
    switched = submit(browser, f"{path}/switch-over", {"version": str(drafted.version)})
    assert switched.status_code == 303
    assert switched.headers["location"] == f"{path}?done=switched"
    promoted = world.stored(connection.id)
    assert (promoted.config, promoted.draft) == (drafted.draft, None)
    assert "sign-ins now use the new settings" in browser.get(switched.headers["location"]).text

    # Then the old one goes, the same way.
    removed = submit(
        browser, f"{path}/certificates", {"action": "remove", "fingerprint": fingerprint(old)}
    )
    assert removed.status_code == 303
    after = world.stored(connection.id)
    assert after.draft is not None
    assert [fingerprint(c) for c in after.draft["idp_certificates"]] == [fingerprint(new)]
    assert after.config == promoted.config
    world.passed_test(connection, after.draft)
    assert (
        submit(browser, f"{path}/switch-over", {"version": str(after.version)}).status_code == 303
    )
    assert [fingerprint(c) for c in world.stored(connection.id).config["idp_certificates"]] == [
        fingerprint(new)
    ]


def test_a_switch_over_from_a_stale_page_is_refused(world: MaintainWorld) -> None:
    """The page showed version n; the draft changed since (another tab) and was tested
    there: this page's button does not switch on what it did not show."""
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}"
    submit(browser, f"{path}/certificates", {"action": "add", "certificate_text": _pem(world)})
    seen = world.stored(connection.id)
    submit(browser, f"{path}/certificates", {"action": "add", "certificate_text": _pem(world)})
    later = world.stored(connection.id)
    world.passed_test(connection, later.draft)
    for version in (str(seen.version), "", "x"):
        refused = submit(browser, f"{path}/switch-over", {"version": version})
        assert refused.status_code == 409
        assert "edited since you looked" in refused.text
    assert world.stored(connection.id) == later


def test_a_certificate_file_pem_or_der_is_accepted(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}/certificates"
    pem = _pem(world)
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(Encoding.DER)
    response = submit(
        browser, path, {"action": "add"}, files={"certificate_file": ("next.cer", der)}
    )
    assert response.status_code == 303, response.text
    other = _pem(world, name="Spare")
    response = submit(
        browser, path, {"action": "add"}, files={"certificate_file": ("spare.pem", other.encode())}
    )
    assert response.status_code == 303, response.text
    draft = world.stored(connection.id).draft
    assert draft is not None
    assert [fingerprint(c) for c in draft["idp_certificates"]][1:] == [
        fingerprint(pem),
        fingerprint(other),
    ]


def test_refusals_are_said_beside_the_field_and_nothing_is_saved_or_shown_back(
    world: MaintainWorld,
) -> None:
    """T-11: a private key pasted instead of the certificate is refused, not stored, not
    shown back; an expired certificate, garbage, nothing at all: each said in words."""
    org = world.organization()
    only = _pem(world, name="Only")
    connection = world.saml(org.id, only)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}/certificates"
    key = (
        "-----BEGIN PRIVATE KEY-----\n"
        + base64.b64encode(b"k" * 300).decode()
        + "\n-----END PRIVATE KEY-----"
    )
    cases = {
        key: "private key",
        certificate_pem(not_after=world.clock.now() - timedelta(days=2)): "expired on",
        "zzgarbage-zz": "This is not a certificate",
        "": "Choose the certificate file, or paste its text",
    }
    for value, message in cases.items():
        page = submit(browser, path, {"action": "add", "certificate_text": value})
        assert page.status_code == 422
        assert message in _field_error(page, "certificate")
        assert 'aria-invalid="true"' in page.text
        assert "Reference" in page.text
        if value:
            assert value not in page.text
    assert world.stored(connection.id) == connection
    assert "PRIVATE KEY" not in world.database()

    both = submit(
        browser, path, {"action": "add", "certificate_text": _pem(world)},
        files={"certificate_file": ("c.pem", _pem(world).encode())},
    )  # fmt: skip
    assert "not both" in _field_error(both, "certificate")
    last = submit(browser, path, {"action": "remove", "fingerprint": fingerprint(only)})
    assert last.status_code == 422
    assert "only certificate trusted" in _field_error(last, "remove")
    unknown = submit(browser, path, {"action": "fetch", "metadata_url": ""})
    assert "The metadata URL is required." in _field_error(unknown, "metadata_url")
    nothing = submit(browser, path, {"action": "other"})
    assert nothing.status_code == 422
    assert "Choose what to do" in nothing.text
    assert world.stored(connection.id) == connection


def test_the_idps_metadata_is_fetched_again_for_its_new_certificate(
    store: Store, tmp_path: Path
) -> None:
    """Through the broker's outbound client; another IdP's metadata is refused."""
    world = build_maintain_world(store, tmp_path)
    org = world.organization()
    old, new = _pem(world, name="Old"), _pem(world)
    connection = world.saml(org.id, old)
    world.documents["https://idp.acme.test/metadata"] = idp_metadata(
        IDP_ENTITY_ID, SSO_URL, old, new
    )
    world.documents["https://idp.acme.test/other"] = idp_metadata(
        "https://other.test", SSO_URL, new
    )
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}/certificates"
    other = submit(
        browser, path, {"action": "fetch", "metadata_url": "https://idp.acme.test/other"}
    )
    assert other.status_code == 422
    assert "another identity provider" in _field_error(other, "metadata_url")
    assert 'value="https://idp.acme.test/other"' in other.text  # the URL is shown back
    assert world.stored(connection.id) == connection
    fetched = submit(
        browser, path, {"action": "fetch", "metadata_url": "https://idp.acme.test/metadata"}
    )
    assert fetched.status_code == 303, fetched.text
    draft = world.stored(connection.id).draft
    assert draft is not None
    assert [fingerprint(c) for c in draft["idp_certificates"]] == [
        fingerprint(old),
        fingerprint(new),
    ]


def test_discard_drops_the_draft(world: MaintainWorld) -> None:
    org = world.organization()
    connection = world.saml(org.id)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}"
    submit(browser, f"{path}/certificates", {"action": "add", "certificate_text": _pem(world)})
    discarded = submit(browser, f"{path}/discard")
    assert discarded.status_code == 303
    assert discarded.headers["location"] == f"{path}?done=discarded"
    stored = world.stored(connection.id)
    assert (stored.config, stored.draft) == (connection.config, None)
    assert "Changes waiting" not in browser.get(path).text


def test_a_new_client_secret_is_a_draft_and_never_shown(
    store: Store, tmp_path: Path, op_key: RSAKey
) -> None:
    world = build_maintain_world(store, tmp_path, op_key=op_key)
    org = world.organization()
    connection = world.oidc(org.id)
    browser = world.editing(org.id, connection)
    path = f"/portal/connections/{connection.id}/secret"
    form = browser.get(path)
    assert form.status_code == 200
    assert 'type="password" id="client_secret" name="client_secret"' in form.text
    assert '<label for="client_secret">' in form.text

    empty = submit(browser, path, {"client_secret": ""})
    assert empty.status_code == 422
    assert "The client secret is required." in _field_error(empty, "client_secret")
    padded = submit(browser, path, {"client_secret": " new-secret "})
    assert padded.status_code == 422
    assert "without spaces" in _field_error(padded, "client_secret")
    assert "new-secret" not in padded.text
    assert world.stored(connection.id) == connection

    new_secret = "fresh-secret-from-the-console"
    saved = submit(browser, path, {"client_secret": new_secret})
    assert saved.status_code == 303
    stored = world.stored(connection.id)
    assert stored.config == connection.config
    assert stored.draft is not None
    assert stored.draft["client_secret_encrypted"] != connection.config["client_secret_encrypted"]
    overview = browser.get(saved.headers["location"]).text
    assert "Client secret: changed" in overview
    assert new_secret not in overview
    assert new_secret not in world.database()


def test_pages_of_the_other_protocol_are_not_found(
    store: Store, tmp_path: Path, op_key: RSAKey
) -> None:
    world = build_maintain_world(store, tmp_path, op_key=op_key)
    org = world.organization()
    saml, oidc = world.saml(org.id), world.oidc(org.id)
    browser = world.signed_in(org.id)
    assert browser.get(f"/portal/connections/{saml.id}/secret").status_code == 404
    assert browser.get(f"/portal/connections/{oidc.id}/certificates").status_code == 404
    secret = submit(browser, f"/portal/connections/{saml.id}/secret", {"client_secret": "x"})
    assert secret.status_code == 404
    certificate = submit(
        browser, f"/portal/connections/{oidc.id}/certificates",
        {"action": "add", "certificate_text": _pem(world)},
    )  # fmt: skip
    assert certificate.status_code == 404
    assert world.stored(saml.id) == saml
    assert world.stored(oidc.id) == oidc
