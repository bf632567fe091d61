"""What the directory's request log says about the IdP's SCIM set-up, in the words of that
IdP's console (`guides.ScimGuide`): pure, from the log's newest entries.

What can be told, and what cannot:

- A request with a refused token is logged under the directory its URL names, when that
  directory exists (`broker.directory.service`, `_refuse`): a wrong, revoked or replaced
  token shows here, with the reason the client itself is never told.
- A request to a URL naming no directory of ours is logged nowhere (it cannot be
  attributed, and unauthenticated requests may not make Gatehouse store anything, T-bounded
  state). So "nothing arrived" is the only sign of a wrong URL, and the advice says which
  end the URL must have.
- A refusal of what was sent carries its SCIM `scimType` (RFC 7644 §3.12): an attribute or
  value Gatehouse cannot map (`invalidValue`, `invalidPath`, `noTarget`, `mutability`,
  `invalidSyntax`), a filter it refuses (`invalidFilter`, `tooMany`), a taken userName
  (`uniqueness`).

The newest request decides: an IdP that was refused and then fixed is fine now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from admin_portal.directory_sync.guides import ScimGuide
from broker.model.directories import DirectoryRequest

_ATTRIBUTE_TYPES = frozenset({"invalidValue", "invalidPath", "noTarget", "mutability"})
_FILTER_TYPES = frozenset({"invalidFilter", "tooMany"})


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """`kind`: waiting, connected, wrong_token, attribute, filter, uniqueness, other.
    `title` and `advice` are our words (`**label**` marks a console's label); `request` is
    the log entry it is about, shown as it is (escaped) beside them."""

    kind: str
    title: str
    advice: tuple[str, ...]
    request: DirectoryRequest | None = None

    @property
    def ok(self) -> bool:
        return self.kind == "connected"


def diagnose(requests: Sequence[DirectoryRequest], guide: ScimGuide, base_url: str) -> Diagnosis:
    """`requests`: the directory's log, newest first; `base_url` is the directory's SCIM
    base URL (`<issuer>/scim/v2/<directory id>`)."""
    if not requests:
        return _nothing_yet(guide, base_url)
    newest = requests[0]
    if newest.status < 400:
        return Diagnosis(
            "connected",
            f"{_name(guide)} reached Gatehouse",
            (f"The newest request was answered {newest.status}: provisioning works.",),
            newest,
        )
    if newest.status == 401:
        return _wrong_token(newest, guide)
    return _refused(newest, guide)


def _name(guide: ScimGuide) -> str:
    return guide.product[0].upper() + guide.product[1:]


def _nothing_yet(guide: ScimGuide, base_url: str) -> Diagnosis:
    directory_id = base_url.rsplit("/", 1)[-1]
    return Diagnosis(
        "waiting",
        f"Nothing arrived yet from {guide.product}",
        (
            f"{_name(guide)} has not reached this directory. {guide.first_sync}.",
            f"If you did, check the URL in {guide.url_field} ({guide.credentials}): it must "
            f"end with `/scim/v2/{directory_id}`, exactly as shown above. A request to any "
            "other URL cannot be told apart from a stranger's, so it does not show here.",
        ),
    )


_BEARER_ADVICE = {
    "no bearer token": "{product} sent no token at all. Paste the token into {field} "
    "({where}) and click {test}.",
    "revoked token": "{product} sent a token that was revoked. Click **Rotate token** below "
    "and paste the new one into {field} ({where}).",
    "expired token (replaced by a rotation)": "{product} still sends the token a rotation "
    "replaced, and its overlap has ended. Paste the newest token into {field} ({where}).",
    "token of another directory": "{product} sent the token of another directory. Each "
    "directory has its own: paste this directory's into {field} ({where}).",
    "directory disabled": "This directory's tokens were all revoked. Click **Rotate token** "
    "below for a new one and paste it into {field} ({where}).",
}
_UNKNOWN_BEARER = (
    "The token {product} sent is not this directory's (a typo, a space, or a token of "
    "something else). Paste it again into {field} ({where}) and click {test}. If you no "
    "longer have it, click **Rotate token** below for a new one."
)


def _wrong_token(request: DirectoryRequest, guide: ScimGuide) -> Diagnosis:
    template = _BEARER_ADVICE.get(request.detail or "", _UNKNOWN_BEARER)
    advice = template.format(
        product=_name(guide),
        field=guide.bearer_field,
        where=guide.credentials,
        test=guide.test_button,
    )
    return Diagnosis("wrong_token", "The token was refused", (advice,), request)


def _refused(request: DirectoryRequest, guide: ScimGuide) -> Diagnosis:
    scim_type = request.scim_type or ""
    product = _name(guide)
    if scim_type in _FILTER_TYPES:
        return Diagnosis(
            "filter",
            "A search was refused",
            (
                f"{product} searched with a filter Gatehouse does not answer. Gatehouse "
                "answers `eq`, `co`, `sw` and `pr` on `userName`, `externalId`, `emails`, "
                "`displayName` and `active` (and `members` of groups), joined by `and`/`or`. "
                f"Check the matching attribute in {guide.mappings}: match users on "
                "`userName`.",
            ),
            request,
        )
    if scim_type == "uniqueness":
        return Diagnosis(
            "uniqueness",
            "A user with this userName exists already",
            (
                f"{product} created a user whose `userName` another user of this directory "
                "has. Two people with the same username, or a user created twice: check "
                f"the user in {guide.console}; {product} retries on its own once it is fixed.",
            ),
            request,
        )
    if scim_type in _ATTRIBUTE_TYPES or scim_type == "invalidSyntax":
        return Diagnosis(
            "attribute",
            "An attribute could not be mapped",
            (
                f"{product} sent a value Gatehouse cannot store (Gatehouse's answer is "
                f"below). Correct or remove that mapping in {guide.mappings}, then send the "
                "user again.",
            ),
            request,
        )
    return Diagnosis(
        "other",
        f"A request was answered {request.status}",
        (
            f"{product} sent a request Gatehouse refused (its answer is below). "
            f"{product} retries on its own; if this keeps happening, send the reference at "
            "the bottom of this page to the person who sent you the link.",
        ),
        request,
    )
