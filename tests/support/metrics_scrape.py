"""Reading `/metrics` as Prometheus does: the exposition parsed by prometheus_client's own
parser, and what changed between two scrapes (metrics are process-wide, so a test compares
a scrape after its requests with one before them)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from starlette.testclient import TestClient

from broker.app import create_app
from broker.settings import MetricsSettings
from broker.store import Store
from tests.support.config import ISSUER, make_settings

TOKEN = "metrics-test-token-7f3c9a1e"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}


@dataclass(frozen=True)
class Scrape:
    samples: tuple[Sample, ...]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        families = text_string_to_metric_families(text)
        return cls(tuple(sample for family in families for sample in family.samples))

    def value(self, name: str, **labels: str) -> float:
        """The sample `name` with exactly these labels (`le` aside); 0 when absent, as a
        counter that never counted is absent."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else 0.0

    def label_values(self) -> Iterator[str]:
        for sample in self.samples:
            yield from sample.labels.values()


def scrape(client: TestClient, headers: dict[str, str] = AUTHORIZATION) -> Scrape:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape.parse(response.text)


def change(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def scraper(store: Store, tmp_path: Path) -> TestClient:
    """An app over `store` whose `/metrics` takes `TOKEN`. In one process, every app records
    into the same metrics: this one reads what a world's app (built without a token) did."""
    settings = make_settings(tmp_path, metrics=MetricsSettings(token=TOKEN))
    return TestClient(create_app(settings, store=store), base_url=ISSUER)
