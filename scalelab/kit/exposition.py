"""A service's /metrics page, read as Prometheus reads it, but now: exact counts at one moment, for
checks and tests that compare them with what they sent (Prometheus's own copy is up to a scrape
interval old).

    before = exposition.scrape(settings, "app1")
    ...                                                  # send 30 requests
    exposition.total(exposition.scrape(settings, "app1"), "chirp_http_request_duration_seconds_count",
                     route="/api/feed") - exposition.total(before, ...)
"""

from __future__ import annotations

import requests
from prometheus_client.parser import text_string_to_metric_families

from scalelab.errors import LabError

# (sample name, its labels sorted) -> value
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(settings, service: str) -> Samples | None:
    """The service's samples, or None when it has no /metrics page (any answer but 200)."""
    try:
        response = requests.get(f"http://{settings.address(service)}/metrics", timeout=10)
    except requests.RequestException as error:
        raise LabError(f"{service} does not answer ({error}): `scalelab status`, then `scalelab logs {service}`")
    if response.status_code != 200:
        return None
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def total(samples: Samples | None, name: str, **labels: str) -> float:
    """The sum of the samples called `name` whose labels include `labels` (0 when there are none)."""
    return sum(
        value
        for (sample, sample_labels), value in (samples or {}).items()
        if sample == name and labels.items() <= dict(sample_labels).items()
    )
