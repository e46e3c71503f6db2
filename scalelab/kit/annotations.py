"""Mark load runs on Grafana's dashboards: an annotation when a run starts and one when it ends, so that
a spike on any panel can be matched with the run that caused it.

Grafana runs in Docker mode only. When it does not answer (native mode, or a stopped stack), marking
is skipped without a word: a load run never fails for want of a dashboard.
"""

from __future__ import annotations

import time

from grafana_client import GrafanaApi

from scalelab.stack.settings import Settings

TAGS = ["scalelab", "load"]
TIMEOUT_S = 2.0


def grafana(settings: Settings) -> GrafanaApi | None:
    """The lab's Grafana when it answers, else None."""
    api = GrafanaApi.from_url(f"http://{settings.address('grafana')}", timeout=TIMEOUT_S)
    try:
        api.health.check()
    except Exception:  # grafana-client raises its own errors and its HTTP library's: all mean "not there"
        return None
    return api


def mark(api: GrafanaApi | None, text: str, tags: list[str]) -> None:
    """One annotation, now, on every dashboard; nothing when there is no Grafana."""
    if api is None:
        return
    try:
        api.annotations.add_annotation(time_from=int(time.time() * 1000), tags=[*TAGS, *tags], text=text)
    except Exception:  # the run matters more than its mark
        pass
