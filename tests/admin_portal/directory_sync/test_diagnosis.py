"""The diagnosis of a directory's request log (admin_portal/directory_sync/diagnosis.py):
pure, for every vendor's guide and every reason a SCIM request is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from admin_portal.directory_sync.diagnosis import diagnose
from admin_portal.directory_sync.guides import SCIM_GUIDES, ScimGuide, scim_guide
from broker.model.directories import DirectoryRequest

BASE = "https://sso.example.com/scim/v2/dir_abc"
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOKEN_REASONS = (
    "no bearer token",
    "unknown token",
    "token of another directory",
    "revoked token",
    "expired token (replaced by a rotation)",
    "directory disabled",
)
GUIDES = list(SCIM_GUIDES.values())


def logged(status: int, *, scim_type: str | None = None, detail: str | None = None,
           n: int = 0) -> DirectoryRequest:  # fmt: skip
    return DirectoryRequest(
        id=f"dsr_{n}", directory_id="dir_abc", at=AT, method="POST", path="/Users",
        status=status, scim_type=scim_type, detail=detail,
    )  # fmt: skip


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.vendor)
def test_nothing_logged_names_the_url_end_and_the_consoles_url_field(guide: ScimGuide) -> None:
    found = diagnose([], guide, BASE)
    assert found.kind == "waiting"
    text = " ".join(found.advice)
    assert "`/scim/v2/dir_abc`" in text
    assert guide.url_field in text


@pytest.mark.parametrize("reason", TOKEN_REASONS)
@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.vendor)
def test_a_refused_token_names_the_consoles_bearer_field(guide: ScimGuide, reason: str) -> None:
    found = diagnose([logged(401, detail=reason)], guide, BASE)
    assert found.kind == "wrong_token"
    assert guide.bearer_field in found.advice[0]
    assert guide.credentials in found.advice[0]


@pytest.mark.parametrize(
    ("scim_type", "kind"),
    [
        ("invalidFilter", "filter"),
        ("tooMany", "filter"),
        ("invalidValue", "attribute"),
        ("invalidPath", "attribute"),
        ("noTarget", "attribute"),
        ("mutability", "attribute"),
        ("invalidSyntax", "attribute"),
        ("uniqueness", "uniqueness"),
        (None, "other"),
    ],
)
def test_a_refusal_is_told_by_its_scim_type(scim_type: str | None, kind: str) -> None:
    found = diagnose([logged(400, scim_type=scim_type)], scim_guide("entra"), BASE)
    assert found.kind == kind
    if kind in ("filter", "attribute"):
        assert "**Provisioning > Mappings > Provision Microsoft Entra ID Users**" in found.advice[0]


def test_the_newest_request_decides() -> None:
    fixed = [logged(201, n=2), logged(401, detail="unknown token", n=1)]
    assert diagnose(fixed, scim_guide("okta"), BASE).ok
    broken = list(reversed(fixed))
    assert diagnose(broken, scim_guide("okta"), BASE).kind == "wrong_token"


def test_a_guide_is_chosen_by_vendor_then_by_the_directorys_name() -> None:
    assert scim_guide("jumpcloud", "Okta").vendor == "jumpcloud"
    assert scim_guide(None, "Microsoft Entra ID").vendor == "entra"
    assert scim_guide("<script>", "Anything").vendor == "generic"


@pytest.mark.parametrize("guide", GUIDES, ids=lambda g: g.vendor)
def test_every_guide_gives_both_values(guide: ScimGuide) -> None:
    given = {key for step in guide.steps for key in step.values}
    assert given == {"scim_base_url", "scim_token"}
