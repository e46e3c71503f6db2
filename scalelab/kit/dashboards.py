"""Every PromQL expression in the lab's Grafana dashboards and alert rules, ready to run on Prometheus.

Grafana only shows a broken query as an empty panel (or an alert that never fires), and a metric
renamed in the app breaks them silently. This module lists each expression with where it lives, so
that a test can send all of them to the real Prometheus. Grafana's own variables are replaced with
fixed windows first, since Prometheus does not know them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from scalelab.errors import LabError
from scalelab.paths import INFRA

GRAFANA = INFRA / "grafana"
DASHBOARDS = GRAFANA / "dashboards"
ALERT_RULES = GRAFANA / "provisioning" / "alerting" / "rules.yml"

# What Grafana would put in for its variables (the lab scrapes every 5 s; 1m is 4 scrapes and more).
GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "15m"}
VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def runnable(expr: str) -> str:
    """`expr` with Grafana's variables replaced; an unknown variable is left for Prometheus to reject."""
    def fill(match: re.Match[str]) -> str:
        return GRAFANA_VARIABLES.get(match.group(1) or match.group(2), match.group(0))

    return VARIABLE.sub(fill, expr)


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in rows."""
    found = []
    for panel in dashboard.get("panels", []):
        found.append(panel)
        found.extend(panels(panel))
    return found


def promql_expressions(dashboards: Path = DASHBOARDS, rules: Path = ALERT_RULES) -> list[tuple[str, str]]:
    """(where, expr) for each Prometheus query, e.g. ("red-overview.json: panel 'Requests per second'", "sum(...)")."""
    found = []
    for path in sorted(dashboards.glob("*.json")):
        for panel in panels(json.loads(path.read_text())):
            for target in panel.get("targets", []):
                if "expr" in target:
                    found.append((f"{path.name}: panel {panel.get('title', '')!r}", runnable(target["expr"])))
    for group in yaml.safe_load(rules.read_text()).get("groups", []):
        for rule in group.get("rules", []):
            for query in rule.get("data", []):
                if "expr" in query.get("model", {}):
                    found.append((f"{rules.name}: {rule['title']}", runnable(query["model"]["expr"])))
    return found


@dataclass
class Panel:
    title: str
    kind: str  # Grafana's panel type: timeseries, stat...
    unit: str
    queries: list[tuple[str, str]]  # (legendFormat, runnable expr)
    thresholds: list[float]  # the lines drawn across it, such as the 300 ms objective


def dashboard_panels(name: str, dashboards: Path = DASHBOARDS) -> list[Panel]:
    """The panels of infra/grafana/dashboards/<name>.json, for drawing them without Grafana (plots.dashboard)."""
    path = dashboards / f"{name.removesuffix('.json')}.json"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in dashboards.glob("*.json")))
        raise LabError(f"no dashboard {name!r}: the lab has {known}")
    found = []
    for panel in panels(json.loads(path.read_text())):
        defaults = panel.get("fieldConfig", {}).get("defaults", {})
        steps = defaults.get("thresholds", {}).get("steps", [])
        found.append(
            Panel(
                title=panel.get("title", ""),
                kind=panel.get("type", ""),
                unit=defaults.get("unit", ""),
                queries=[(t.get("legendFormat", ""), runnable(t["expr"])) for t in panel.get("targets", []) if "expr" in t],
                thresholds=[step["value"] for step in steps if step.get("value") is not None],
            )
        )
    return found


def legend(template: str, labels: dict) -> str:
    """Grafana's legendFormat ("{{route}} {{status}}") filled with a series' labels."""
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(labels.get(m.group(1), "")), template).strip()
    return text or ", ".join(f"{k}={v}" for k, v in labels.items()) or "value"
