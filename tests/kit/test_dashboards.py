"""Grafana's dashboards and alert rules, checked without a stack: as Grafana would read them.

infra/grafana/ is rendered for Docker exactly as the `config` helper does (scalelab.stack.render) into a
copy of the `lab-config` volume, and every check reads that copy through the paths Grafana is given
(GF_PATHS_PROVISIONING in docker-compose.yml, the provider's folder). Each check is a function
that raises AssertionError; the last test breaks a copy of infra/grafana in each way one check
should catch, and shows that it does.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from unittest import mock

import pytest
import yaml

from scalelab.kit import dashboards
from scalelab.paths import INFRA, REPO
from scalelab.stack import render
from scalelab.stack.settings import Settings, parse_env_file

LAB_CONFIG = "/etc/lab"
EXPECTED_DASHBOARDS = {"red-overview.json", "db-pool.json", "celery.json", "redis.json", "nginx.json"}
EXPRESSIONS_DATASOURCE = "__expr__"


def provisioning_path() -> str:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return compose["services"]["grafana"]["environment"]["GF_PATHS_PROVISIONING"]


def render_grafana(infra: Path, volume: Path) -> Path:
    """infra/grafana/ rendered for Docker into `volume` (laid out as /etc/lab), by the real render step."""
    values = render.variables(Settings(dict(parse_env_file(REPO / ".env.example"))), "docker")
    with mock.patch.object(render, "INFRA", infra):
        render.render_service("grafana", volume / "grafana", {**values, "CONF_DIR": f"{LAB_CONFIG}/grafana"})
    return volume


def in_volume(path: str, volume: Path) -> Path:
    assert path.startswith(f"{LAB_CONFIG}/"), f"{path} is not in the lab-config volume ({LAB_CONFIG}), which the render fills"
    return volume / path.removeprefix(f"{LAB_CONFIG}/")


def load_yaml(path: Path) -> dict:
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise AssertionError(f"{path.name} does not parse: {error}") from None


def yaml_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*") if p.suffix in (".yml", ".yaml"))


def datasource_uids(provisioning: Path) -> set[str]:
    uids = {ds["uid"] for path in yaml_files(provisioning / "datasources") for ds in load_yaml(path).get("datasources", [])}
    assert uids, "no provisioned datasource has a uid"
    return uids


def dashboard_folder(provisioning: Path, volume: Path, infra: Path) -> Path:
    """The folder the file provider loads; it must hold every dashboard of infra/grafana/dashboards."""
    providers = [p for path in yaml_files(provisioning / "dashboards") for p in load_yaml(path).get("providers", [])]
    files = [p for p in providers if p.get("type", "file") == "file"]
    assert len(files) == 1, f"expected one file provider for the dashboards, found {len(files)}"
    folder = in_volume(files[0]["options"]["path"], volume)
    wanted = {p.name for p in (infra / "grafana" / "dashboards").glob("*.json")}
    found = {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()
    assert wanted, "infra/grafana/dashboards holds no dashboard"
    assert wanted <= found, f"the provider's folder {files[0]['options']['path']} lacks dashboards {sorted(wanted - found)}"
    return folder


def check_dashboards(folder: Path, uids: set[str]) -> None:
    seen_uids: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            board = json.loads(path.read_text())
        except json.JSONDecodeError as error:
            raise AssertionError(f"{path.name} does not parse: {error}") from None
        version = board.get("schemaVersion")
        assert type(version) is int and version >= 36, f"{path.name}: schemaVersion {version!r} is not an int >= 36"
        uid = board.get("uid")
        assert uid, f"{path.name} has no uid: Grafana would make one up, and links to it would break"
        assert uid not in seen_uids, f"{path.name} and {seen_uids[uid]} share the dashboard uid {uid!r}"
        seen_uids[uid] = path.name
        ids: set[int] = set()
        for panel in dashboards.panels(board):
            where = f"{path.name}: panel {panel.get('title')!r}"
            assert panel.get("id") not in ids, f"{where}: duplicate panel id {panel.get('id')}"
            ids.add(panel.get("id"))
            source = panel.get("datasource")
            if panel.get("type") != "row" or source is not None:
                assert isinstance(source, dict) and source.get("uid") in uids, f"{where}: datasource {source!r} is not one of {sorted(uids)}"
            for target in panel.get("targets", []):
                assert target.get("datasource", source) == source, f"{where}: a target's datasource differs from its panel's"
                expr = target.get("expr")
                assert isinstance(expr, str) and expr.strip(), f"{where}: target {target.get('refId')} has no expr"


def check_alert_rules(provisioning: Path, uids: set[str]) -> None:
    files = yaml_files(provisioning / "alerting")
    assert files, "no alert rules file in the provisioning folder"
    for path in files:
        config = load_yaml(path)
        assert config.get("apiVersion") == 1, f"{path.name}: apiVersion must be 1"
        assert config.get("groups"), f"{path.name}: no rule groups"
        for group in config["groups"]:
            assert group.get("folder") and group.get("interval"), f"{path.name}: group {group.get('name')!r} needs a folder and an interval"
            for rule in group["rules"]:
                where = f"{path.name}: {rule.get('title')!r}"
                by_ref = {query["refId"]: query for query in rule["data"]}
                queries = [q for q in rule["data"] if q.get("datasourceUid") != EXPRESSIONS_DATASOURCE]
                assert queries, f"{where}: no query to a datasource"
                for query in queries:
                    assert query["datasourceUid"] in uids, f"{where}: datasourceUid {query['datasourceUid']!r} is not one of {sorted(uids)}"
                    assert str(query["model"].get("expr", "")).strip(), f"{where}: query {query['refId']} has no expr"
                kinds = {q["model"].get("type") for q in rule["data"] if q.get("datasourceUid") == EXPRESSIONS_DATASOURCE}
                assert {"reduce", "threshold"} <= kinds, f"{where}: needs a reduce and a threshold expression, has {sorted(map(str, kinds))}"
                condition = by_ref.get(rule.get("condition"), {})
                assert condition.get("model", {}).get("type") == "threshold", f"{where}: the condition must be the threshold expression"


def check_all(infra: Path, volume: Path) -> None:
    provisioning = in_volume(provisioning_path(), volume)
    uids = datasource_uids(provisioning)
    check_dashboards(dashboard_folder(provisioning, volume, infra), uids)
    check_alert_rules(provisioning, uids)


@pytest.fixture(scope="module")
def volume(tmp_path_factory) -> Path:
    return render_grafana(INFRA, tmp_path_factory.mktemp("etc-lab"))


@pytest.fixture(scope="module")
def provisioning(volume) -> Path:
    return in_volume(provisioning_path(), volume)


def test_the_render_puts_every_dashboard_where_the_provider_looks(volume, provisioning):
    folder = dashboard_folder(provisioning, volume, INFRA)
    assert EXPECTED_DASHBOARDS <= {p.name for p in folder.glob("*.json")}


def test_the_datasource_the_dashboards_use_is_provisioned(provisioning):
    assert "lab-prometheus" in datasource_uids(provisioning)


def test_dashboards_parse_with_unique_uids_and_ids_and_a_query_in_every_target(volume, provisioning):
    check_dashboards(dashboard_folder(provisioning, volume, INFRA), datasource_uids(provisioning))


def test_alert_rules_parse_and_query_the_lab_prometheus(provisioning):
    check_alert_rules(provisioning, datasource_uids(provisioning))


def test_promql_expressions_lists_every_query_ready_for_prometheus():
    found = dashboards.promql_expressions()
    targets = sum(len(p.get("targets", [])) for path in (INFRA / "grafana" / "dashboards").glob("*.json")
                  for p in dashboards.panels(json.loads(path.read_text())))
    assert len([w for w, _ in found if ".json: panel '" in w]) == targets
    assert {w for w, _ in found if w.startswith("rules.yml: ")} == {
        "rules.yml: Chirp p95 over the 300 ms objective", "rules.yml: DB pool saturated",
    }
    assert all("$" not in expr for _, expr in found), [expr for _, expr in found if "$" in expr]
    assert dashboards.runnable("rate(x[$__rate_interval]) + rate(x[${__interval}])") == "rate(x[1m]) + rate(x[15s])"


# --- Each check fails on a broken copy --------------------------------------------------------------


def edit_json(path: Path, change) -> None:
    board = json.loads(path.read_text())
    change(board)
    path.write_text(json.dumps(board))


def edit_yaml(path: Path, change) -> None:
    config = yaml.safe_load(path.read_text())
    change(config)
    path.write_text(yaml.safe_dump(config))


def nest_in_row(board: dict, **changes) -> None:
    """Move the last panel into a collapsed row, with `changes` applied to it."""
    inner = {**board["panels"].pop(), **changes}
    board["panels"].append({"id": 1000, "type": "row", "title": "More", "collapsed": True, "panels": [inner]})


RULES = "provisioning/alerting/rules.yml"
PROVIDER = "provisioning/dashboards/lab.yml"
BREAKAGES = {
    "not JSON": ("dashboards/red-overview.json", lambda p: p.write_text('{"panels": ['), "does not parse"),
    "schemaVersion as a string": ("dashboards/redis.json", lambda p: edit_json(p, lambda b: b.update(schemaVersion="39")), "schemaVersion"),
    "old schemaVersion": ("dashboards/redis.json", lambda p: edit_json(p, lambda b: b.update(schemaVersion=27)), "schemaVersion"),
    "unknown datasource": ("dashboards/nginx.json", lambda p: edit_json(p, lambda b: b["panels"][0].update(datasource={"uid": "grafana"})), "datasource"),
    "no datasource": ("dashboards/nginx.json", lambda p: edit_json(p, lambda b: b["panels"][0].pop("datasource")), "datasource"),
    "unknown datasource in a row": ("dashboards/celery.json", lambda p: edit_json(p, lambda b: nest_in_row(b, datasource={"uid": "x"})), "datasource"),
    "duplicate panel id": ("dashboards/db-pool.json", lambda p: edit_json(p, lambda b: b["panels"][1].update(id=b["panels"][0]["id"])), "duplicate panel id"),
    "duplicate panel id in a row": ("dashboards/db-pool.json", lambda p: edit_json(p, lambda b: nest_in_row(b, id=b["panels"][0]["id"])), "duplicate panel id"),
    "duplicate dashboard uid": ("dashboards/nginx.json", lambda p: edit_json(p, lambda b: b.update(uid="chirp-red")), "share the dashboard uid"),
    "empty expr": ("dashboards/red-overview.json", lambda p: edit_json(p, lambda b: b["panels"][2]["targets"][0].update(expr=" ")), "has no expr"),
    "rules not YAML": (RULES, lambda p: p.write_text("groups: [\n"), "does not parse"),
    "rule on another datasource": (RULES, lambda p: edit_yaml(p, lambda c: c["groups"][0]["rules"][1]["data"][0].update(datasourceUid="other")), "datasourceUid"),
    "rule without threshold": (RULES, lambda p: edit_yaml(p, lambda c: c["groups"][0]["rules"][0]["data"].pop()), "threshold"),
    "provider path elsewhere in the volume": (PROVIDER, lambda p: edit_yaml(p, lambda c: c["providers"][0]["options"].update(path="/etc/lab/grafana/boards")), "lacks dashboards"),
    "provider path outside the volume": (PROVIDER, lambda p: edit_yaml(p, lambda c: c["providers"][0]["options"].update(path="/var/lib/grafana/dashboards")), "lab-config volume"),
}


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_each_check_fails_on_a_broken_copy(breakage, tmp_path):
    relative, breaks, message = BREAKAGES[breakage]
    infra = tmp_path / "infra"
    shutil.copytree(INFRA / "grafana", infra / "grafana")
    check_all(infra, render_grafana(infra, tmp_path / "intact"))  # the copy passes before it is broken
    breaks(infra / "grafana" / relative)
    with pytest.raises(AssertionError, match=message):
        check_all(infra, render_grafana(infra, tmp_path / "broken"))
