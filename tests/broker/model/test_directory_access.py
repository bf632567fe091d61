"""The directory's rules without a store (broker/model/directory_access.py): which value
each link key compares, the verdict's order (inactive anywhere, then listed, then unknown
only once the directory lists anyone), the token's live check, the bounded claim."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from broker.model.directories import DirectoryState, DirectoryUser, LinkKey
from broker.model.directory_access import (
    MAX_GROUPS,
    Standing,
    group_claims,
    judge,
    link_value,
    still_admitted,
)
from broker.model.login_policy import PolicyRefusal
from broker.model.reasons import Reason
from broker.model.records import UpstreamIdentity

NOW = datetime(2026, 3, 1, tzinfo=UTC)
ANN = DirectoryUser(
    id="du_ann", directory_id="dir", user_name="ann", external_id="00u1", active=True,
    display_name="Ann", emails=("ann@a.test",), primary_email="ann@a.test", resource={},
    version=1, created_at=NOW, updated_at=NOW,
)  # fmt: skip


@pytest.mark.parametrize(
    ("key", "upstream", "value"),
    [(LinkKey.EMAIL, UpstreamIdentity(subject="00u1", email="ann@a.test"), "ann@a.test"),
     (LinkKey.EMAIL, UpstreamIdentity(subject="00u1"), None),
     (LinkKey.EXTERNAL_ID, UpstreamIdentity(subject="00u1", email="ann@a.test"), "00u1"),
     (LinkKey.SUBJECT, UpstreamIdentity(subject="ann@a.test"), "ann@a.test")],
)  # fmt: skip
def test_each_key_compares_its_own_value(
    key: LinkKey, upstream: UpstreamIdentity, value: str | None
) -> None:
    assert link_value(key, upstream) == value


def test_inactive_anywhere_is_refused_before_active_elsewhere_admits() -> None:
    inactive = replace(ANN, id="du_old", active=False)
    verdict = judge([ANN, inactive], populated=True, directory="dir")
    assert isinstance(verdict, PolicyRefusal)
    assert verdict.reason is Reason.DIRECTORY_USER_INACTIVE


def test_active_or_unsaid_is_admitted_as_that_user() -> None:
    assert judge([ANN], populated=True, directory="dir") is ANN
    unsaid = replace(ANN, active=None)  # the client never sent `active`
    assert judge([unsaid], populated=True, directory="dir") is unsaid


def test_unknown_is_refused_only_once_the_directory_lists_anyone() -> None:
    assert judge([], populated=False, directory="dir") is None
    verdict = judge([], populated=True, directory="dir")
    assert isinstance(verdict, PolicyRefusal)
    assert verdict.reason is Reason.DIRECTORY_USER_UNKNOWN


@pytest.mark.parametrize(
    ("standing", "admitted"),
    [(Standing(active=True, directory_state=DirectoryState.ACTIVE), True),
     (Standing(active=False, directory_state=DirectoryState.ACTIVE), False),
     (Standing(active=False, directory_state=DirectoryState.DISABLED), True),
     (None, False)],
)  # fmt: skip
def test_a_token_lives_while_its_person_does(standing: Standing | None, admitted: bool) -> None:
    assert still_admitted(standing) is admitted


def test_the_claim_is_bounded_and_says_when_it_was_cut() -> None:
    assert group_claims(["a", "b"]) == {"directory_groups": ["a", "b"]}
    names = [f"g{n}" for n in range(MAX_GROUPS + 1)]
    claims = group_claims(names)
    assert claims["directory_groups"] == names[:MAX_GROUPS]
    assert claims["directory_groups_truncated"] is True
    assert group_claims(names[:MAX_GROUPS]) == {"directory_groups": names[:MAX_GROUPS]}
