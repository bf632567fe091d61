"""The proof issue 6 asks for: a certificate rotation loses no login.

Real SAML logins, signed by the IdP simulator with keys this test makes, go through
Gatehouse at every step of a rotation done only through the portal's pages: before; with
the new certificate saved as a draft; after switching over to old + new; after the IdP
starts signing with the new key; with the old one's removal as a draft; after switching
over to the new one alone. The draft is tested each time by a real test login from the
portal (the broker records the result), never by a hand-made record.

Two control logins show the steps did what they say: while the new certificate is only a
draft, an answer signed with the new key is refused (logins used the active settings); after
the old certificate is removed, an answer signed with the old key is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from broker.model.portal import ConnectionTest
from broker.store import Store
from idp_simulator.keys import IdpKeys, generate
from tests.support.certificates import fingerprint
from tests.support.portal_forms import submit
from tests.support.saml_world import (
    CONNECTION_ID,
    ORG_ID,
    SamlWorld,
    build_saml_world,
)
from tests.support.simulator import IDP_BASE, build_simulator


@pytest.fixture(scope="module")
def old_keys() -> IdpKeys:
    return generate("Acme IdP 2025")


@pytest.fixture(scope="module")
def new_keys() -> IdpKeys:
    return generate("Acme IdP 2026")


@dataclass
class Rotation:
    """Gatehouse; the IdP before and after it switches keys (same entity ID, same SSO URL);
    and the IT admin's portal, opened with an edit link for the connection."""

    signing_old: SamlWorld
    signing_new: SamlWorld
    portal: TestClient
    link_id: str

    @property
    def path(self) -> str:
        return f"/portal/connections/{CONNECTION_ID}"

    def login_works(self, idp: SamlWorld) -> None:
        """An app's login, all the way to a verified ID token."""
        login, back = idp.login("alice@example.com")
        code = idp.code_from(back)
        tokens = idp.gatehouse.redeem(code, verifier=login.verifier)
        assert tokens.status_code == 200, tokens.text
        claims = idp.gatehouse.verify_id_token(tokens.json()["id_token"])
        assert claims["email"] == "alice@example.com"

    def login_refused(self, idp: SamlWorld) -> None:
        _, back = idp.login("alice@example.com")
        assert back.status_code == 400, back.text
        assert "We could not verify your sign-in" in back.text

    def test_draft(self, idp: SamlWorld) -> ConnectionTest:
        """The portal's "Test the changes": a real login at the IdP in the admin's browser,
        answered to the broker, which records the result."""
        to_idp = submit(self.portal, f"{self.path}/test", {"draft": "1"}, token_from=self.path)
        assert to_idp.status_code == 303, to_idp.text
        assert to_idp.headers["location"].startswith(f"{IDP_BASE}/sso?")
        answer = idp.post(idp.at_idp(to_idp), client=self.portal)
        assert answer.status_code == 303, answer.text
        test_id = answer.headers["location"].rsplit("/", 1)[1]
        with idp.store.unit_of_work() as uow:
            return uow.connection_tests.get(ORG_ID, test_id)

    def switch_over(self) -> None:
        page = self.portal.get(self.path).text
        version = re.search(r'name="version" value="(\d+)"', page)
        assert version, page
        switched = submit(
            self.portal, f"{self.path}/switch-over", {"version": version.group(1)},
            token_from=self.path,
        )  # fmt: skip
        assert switched.status_code == 303, switched.text
        assert switched.headers["location"] == f"{self.path}?done=switched"

    def trusted(self) -> tuple[list[str], list[str] | None]:
        """Fingerprints trusted by the active settings, and by the draft."""
        with self.signing_old.store.unit_of_work() as uow:
            connection = uow.connections.get(CONNECTION_ID)
        active = [fingerprint(c) for c in connection.config["idp_certificates"]]
        draft = connection.draft
        return active, None if draft is None else [
            fingerprint(c) for c in draft["idp_certificates"]
        ]


@pytest.fixture
def rotation(
    store: Store, tmp_path: Path, old_keys: IdpKeys, new_keys: IdpKeys
) -> Iterator[Rotation]:
    signing_old = build_saml_world(store, tmp_path, old_keys)
    gatehouse = signing_old.gatehouse
    signing_new = replace(signing_old, idp=build_simulator(new_keys, gatehouse.clock).browser())
    issued = gatehouse.issue(ORG_ID, connection_id=CONNECTION_ID)
    browser = gatehouse.browser()
    assert gatehouse.open_link(browser, issued.url).status_code == 303
    with gatehouse.client, signing_old.idp, signing_new.idp, browser:
        yield Rotation(signing_old, signing_new, browser, issued.link.id)


def test_a_certificate_rotation_loses_no_login(
    rotation: Rotation, old_keys: IdpKeys, new_keys: IdpKeys
) -> None:
    old, new = fingerprint(old_keys.certificate_pem), fingerprint(new_keys.certificate_pem)
    signing_old, signing_new = rotation.signing_old, rotation.signing_new

    # Before: the IdP signs with the old key, which the connection trusts.
    rotation.login_works(signing_old)
    assert rotation.trusted() == ([old], None)

    # 1. The IT admin adds the IdP's new certificate: a draft beside the active settings.
    added = submit(
        rotation.portal, f"{rotation.path}/certificates",
        {"action": "add", "certificate_text": new_keys.certificate_pem.decode()},
        token_from=f"{rotation.path}/certificates",
    )  # fmt: skip
    assert added.status_code == 303, added.text
    assert rotation.trusted() == ([old], [old, new])
    rotation.login_works(signing_old)
    rotation.login_refused(signing_new)  # the draft is not in use yet

    # 2. Tested (the IdP still signs with the old key), then switched over to old + new.
    tested = rotation.test_draft(signing_old)
    assert tested.passed, tested.report
    rotation.switch_over()
    assert rotation.trusted() == ([old, new], None)
    rotation.login_works(signing_old)

    # 3. The IdP starts signing with the new key.
    rotation.login_works(signing_new)

    # 4. The old certificate's removal is itself a draft, tested, switched over.
    removed = submit(
        rotation.portal, f"{rotation.path}/certificates",
        {"action": "remove", "fingerprint": old},
        token_from=f"{rotation.path}/certificates",
    )  # fmt: skip
    assert removed.status_code == 303, removed.text
    assert rotation.trusted() == ([old, new], [new])
    rotation.login_works(signing_new)
    tested = rotation.test_draft(signing_new)
    assert tested.passed, tested.report
    rotation.switch_over()
    assert rotation.trusted() == ([new], None)
    rotation.login_works(signing_new)
    rotation.login_refused(signing_old)  # the old key is trusted no more

    # Every step is on the record, made by the edit link.
    with signing_old.store.unit_of_work() as uow:
        events = uow.audit.list(limit=200, organization_id=ORG_ID)
    by_link = [e.kind for e in events if e.actor == f"portal_link:{rotation.link_id}"]
    assert by_link.count("connection.draft_saved") == 2
    assert by_link.count("connection.test_passed") == 2
    assert by_link.count("connection.updated") == 2


def test_a_test_of_the_draft_that_fails_blocks_the_switch_over(
    rotation: Rotation, new_keys: IdpKeys, old_keys: IdpKeys
) -> None:
    """Removing the old certificate while the IdP still signs with it: the test says so,
    the switch-over is refused, and logins go on with the active settings."""
    signing_old = rotation.signing_old
    added = submit(
        rotation.portal, f"{rotation.path}/certificates",
        {"action": "add", "certificate_text": new_keys.certificate_pem.decode()},
        token_from=f"{rotation.path}/certificates",
    )  # fmt: skip
    assert added.status_code == 303
    removed = submit(
        rotation.portal, f"{rotation.path}/certificates",
        {"action": "remove", "fingerprint": fingerprint(old_keys.certificate_pem)},
        token_from=f"{rotation.path}/certificates",
    )  # fmt: skip
    assert removed.status_code == 303
    tested = rotation.test_draft(signing_old)
    assert not tested.passed
    assert tested.reason == "signature_invalid"
    page = rotation.portal.get(rotation.path).text
    assert "Test failed" in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    refused = submit(
        rotation.portal, f"{rotation.path}/switch-over", {"version": version.group(1)},
        token_from=rotation.path,
    )  # fmt: skip
    assert refused.status_code == 409
    assert rotation.trusted()[0] == [fingerprint(old_keys.certificate_pem)]
    rotation.login_works(signing_old)
