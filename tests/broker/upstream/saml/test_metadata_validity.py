"""validUntil and cacheDuration, read from IdP metadata by the setup's parser
(broker/upstream/saml/metadata_validity.py, idp_metadata.py)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from broker.errors import ConfigError
from broker.upstream.saml.idp_metadata import parse_idp_metadata
from broker.upstream.saml.metadata_validity import parse_date_time, parse_duration
from idp_simulator.keys import generate
from idp_simulator.saml.metadata import metadata_xml

KEYS = generate("IdP signing")
DOCUMENT = metadata_xml("https://idp.test/metadata", "https://idp.test/sso", KEYS)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("PT1H", timedelta(hours=1)),
        ("P1D", timedelta(days=1)),
        ("PT0S", timedelta(0)),
        ("P1Y2M3DT4H5M6.5S", timedelta(days=365 + 60 + 3, hours=4, minutes=5, seconds=6.5)),
        (" PT90M ", timedelta(minutes=90)),
    ],
)
def test_a_duration_is_read(text: str, length: timedelta) -> None:
    assert parse_duration(text) == length


@pytest.mark.parametrize(
    "text", ["", "P", "PT", "P1DT", "-P1D", "1D", "PT1.S", "P1H", "PT1D", "P" + "9" * 40 + "D"]
)
def test_what_is_not_a_duration_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="cacheDuration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-12-05T10:00:00Z", datetime(2026, 12, 5, 10, tzinfo=UTC)),
        ("2026-12-05T10:00:00.250Z", datetime(2026, 12, 5, 10, 0, 0, 250_000, tzinfo=UTC)),
        ("2026-12-05T12:00:00+02:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),
        ("2026-12-05T10:00:00", datetime(2026, 12, 5, 10, tzinfo=UTC)),  # no zone: UTC
    ],
)
def test_a_date_and_time_is_read_in_utc(text: str, instant: datetime) -> None:
    assert parse_date_time(text) == instant


@pytest.mark.parametrize("text", ["", "2026-12-05", "tomorrow", "2026-13-01T00:00:00Z"])
def test_what_is_not_a_date_and_time_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="validUntil"):
        parse_date_time(text)


def with_attributes(document: bytes, element: str, **attributes: str) -> bytes:
    added = " ".join(f'{name}="{value}"' for name, value in attributes.items())
    return document.replace(f"<md:{element} ".encode(), f"<md:{element} {added} ".encode(), 1)


def test_metadata_without_either_has_neither() -> None:
    idp = parse_idp_metadata(DOCUMENT)
    assert (idp.valid_until, idp.cache_duration) == (None, None)


def test_the_strictest_of_the_entity_and_its_role_applies() -> None:
    document = with_attributes(
        DOCUMENT, "EntityDescriptor", validUntil="2027-01-01T00:00:00Z", cacheDuration="P1D"
    )
    document = with_attributes(
        document, "IDPSSODescriptor", validUntil="2026-12-31T00:00:00Z", cacheDuration="PT6H"
    )
    idp = parse_idp_metadata(document)
    assert idp.valid_until == datetime(2026, 12, 31, tzinfo=UTC)
    assert idp.cache_duration == timedelta(hours=6)


def test_an_unreadable_value_refuses_the_document() -> None:
    with pytest.raises(ConfigError):
        parse_idp_metadata(with_attributes(DOCUMENT, "EntityDescriptor", cacheDuration="soon"))


def test_a_certificate_whose_public_key_is_unreadable_is_refused_not_crashed_on() -> None:
    """The key is parsed lazily: a certificate that loads can still hold a broken key."""
    text = KEYS.certificate_base64()
    der = bytearray(base64.b64decode(text))
    spki = der.find(bytes.fromhex("2a864886f70d010101"))  # rsaEncryption: the key follows
    der[spki + 16] = 0x31  # the RSAPublicKey SEQUENCE inside the BIT STRING, now a SET
    broken = DOCUMENT.replace(text.encode(), base64.b64encode(bytes(der)))
    with pytest.raises(ConfigError, match="public key is unreadable"):
        parse_idp_metadata(broken)


def test_the_longest_duration_the_pattern_allows_is_still_a_duration() -> None:
    longest = parse_duration("P9999Y99999M999999DT9999999H999999999M9999999999.999999999S")
    assert longest > timedelta(days=7_000_000)
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("P99999999999D")  # more digits than the pattern takes
