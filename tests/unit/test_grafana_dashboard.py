"""deploy/'s Prometheus and Grafana files agree with the worker, the compose file and each other.

Every metric a dashboard query names must be one the worker exports (a renamed metric breaks
this test, not a panel nobody looks at); every panel uses the provisioned datasource;
Prometheus scrapes the compose file's workers on the port they serve; the monitoring services
mount files that exist. With ``promtool`` installed (Debian's ``prometheus`` package), the
scrape config and every query are also checked by Prometheus' own parser.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from recsys.experiments import VariantStats
from recsys.settings import Settings
from streams.metrics import Metrics
from streams.web import OPEN_PAGES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
PROMETHEUS = DEPLOY / "prometheus.yml"
GRAFANA = DEPLOY / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "recsys.yml"
DASHBOARD = GRAFANA / "dashboards" / "recsys.json"
PROMETHEUS_LABELS = {"instance", "job"}  # added by Prometheus to every scraped series


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------------------- the worker's metrics
def rendered_samples() -> dict[str, set[str]]:
    """Each sample name of a worker's /metrics, with its label names (every optional family on)."""
    control, candidate = VariantStats(), VariantStats()
    control.shown(("i1", "i2"), 12.0)
    control.answered(1.0, 1)
    control.answered(-1.0, 2)
    candidate.shown(("i3",), 8.0)
    candidate.answered(1.0, 1)
    candidate.answered(1.0, 0)
    metrics = Metrics(
        index_size=lambda: 3, catalogue_size=lambda: 5, lag=lambda: {("interactions", 0): 4},
        online_quality=lambda: 0.25,
        variants=lambda: ("ranker-ab", {"control": control.to_dict(), "candidate": candidate.to_dict()}),
    )  # fmt: skip
    metrics.event_in("interactions")
    metrics.interaction_done(0.002, 1.0)
    samples: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, set()).update(sample.labels)
    return samples


# ---------------------------------------------------------------------------- the dashboard
def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return data


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # a collapsed row holds its panels


def queries() -> list[tuple[str, str, str]]:
    """(where, PromQL, legend) of every panel target and every query variable."""
    found = []
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            found.append(
                (f"panel {panel['title']!r} {target['refId']}", target["expr"], target.get("legendFormat", ""))
            )
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            found.append((f"variable {var['name']!r}", query, ""))
    return found


def _without_strings(expr: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"(?<![\w:])recsys_\w+", _without_strings(expr)))


def test_dashboard_queries_name_only_metrics_the_worker_exports() -> None:
    samples = rendered_samples()
    used: set[str] = set()
    for where, expr, _ in queries():
        names = metric_names(expr)
        assert names, f"{where} names no recsys_ metric: {expr}"
        missing = names - samples.keys()
        assert not missing, f"{where} uses {sorted(missing)}, which the worker does not export ({expr})"
        used |= names
    # the families the dashboard is about are all there
    for name in ("recsys_events_in_total", "recsys_recommendations_emitted_total", "recsys_dead_letters_total",
                 "recsys_processing_seconds_bucket", "recsys_end_to_end_seconds_bucket", "recsys_consumer_lag",
                 "recsys_index_size", "recsys_catalogue_size", "recsys_online_quality",
                 "recsys_experiment_hits_total", "recsys_experiment_lists_total", "recsys_experiment_hits_at_total",
                 "recsys_experiment_coverage", "recsys_experiment_latency_seconds"):  # fmt: skip
        assert name in used, f"no panel shows {name}"


def test_dashboard_labels_exist() -> None:
    """Labels in selectors and ``by (...)`` are the metrics' own; legends name labels the query keeps."""
    samples = rendered_samples()
    for where, expr, legend in queries():
        bare = _without_strings(expr)
        for name, matchers in re.findall(r"(recsys_\w+)\s*\{([^}]*)\}", bare):
            for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers):
                assert label in samples.get(name, set()) | PROMETHEUS_LABELS, f"{where}: {name} has no label {label!r}"
        known = set().union(*(samples.get(name, set()) for name in metric_names(expr))) | PROMETHEUS_LABELS
        grouped: set[str] = set()
        for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", bare):
            labels = {label.strip() for label in group.split(",") if label.strip()}
            assert labels <= known, f"{where}: groups by {sorted(labels - known)}, which its metrics lack"
            grouped |= labels
        kept = (grouped - {"le"}) if grouped else known
        if "label_values(" in expr:
            kept = set()
            for label in re.findall(r"label_values\([^,)]*,\s*(\w+)\s*\)", bare):
                assert label in known, f"{where}: no label {label!r}"
        for label in re.findall(r"\{\{\s*(\w+)\s*\}\}", legend):
            assert label in kept, f"{where}: the legend names {label!r}, which the query drops or lacks"


def provisioned_datasource() -> dict[str, Any]:
    sources = _load(DATASOURCES)["datasources"]
    assert len(sources) == 1
    source: dict[str, Any] = sources[0]
    return source


def test_every_panel_uses_the_provisioned_datasource() -> None:
    source = provisioned_datasource()
    assert source["type"] == "prometheus"
    expected = {"type": "prometheus", "uid": source["uid"]}
    board = dashboard()
    for panel in all_panels(board["panels"]):
        if panel.get("type") == "row":
            continue
        assert panel.get("targets"), f"panel {panel['title']!r} has no queries"
        assert panel["datasource"] == expected, f"panel {panel['title']!r}: {panel['datasource']}"
        for target in panel["targets"]:
            assert target.get("datasource", expected) == expected, f"panel {panel['title']!r} {target['refId']}"
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"] == expected, f"variable {var['name']!r}"
    assert any(var["name"] == "experiment" for var in board["templating"]["list"])


def test_dashboard_layout() -> None:
    board = dashboard()
    assert isinstance(board["schemaVersion"], int) and board["schemaVersion"] >= 36
    assert board["uid"] and board["title"]
    panels = list(all_panels(board["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        pos = panel["gridPos"]
        assert 0 <= pos["x"] and pos["x"] + pos["w"] <= 24, f"panel {panel['title']!r} is wider than the grid"
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"panels {cells[(x, y)]!r} and {panel['title']!r} overlap"
                cells[(x, y)] = panel["title"]
        assert panel["type"] in {"row", "timeseries", "stat"}, panel["type"]


# ---------------------------------------------------------------------------- compose and Prometheus
def compose() -> dict[str, Any]:
    data: dict[str, Any] = _load(COMPOSE)
    return data


def _interpolate(value: str) -> str:
    """Compose's ``${VAR:-default}`` with every variable unset."""
    return re.sub(r"\$\{\w+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def workers() -> dict[str, int]:
    """Each compose service that runs ``recsys worker``, with the port it serves its pages on."""
    found = {}
    for name, service in compose()["services"].items():
        if service.get("command") != ["worker"]:
            continue
        env = {key: _interpolate(str(value)) for key, value in service["environment"].items()}
        port = Settings.from_env(env).web_port
        assert any(str(mapping).split(":")[-1] == str(port) for mapping in service["ports"]), (
            f"{name} publishes {service['ports']}, not the port it serves on ({port})"
        )
        assert env["RECSYS_WEB_URL"] == f"http://{name}:{port}", f"{name}: RECSYS_WEB_URL"
        found[name] = port
    return found


def test_prometheus_scrapes_every_compose_worker() -> None:
    expected = {f"{name}:{port}" for name, port in workers().items()}
    assert {"worker:6066", "worker-2:6066"} <= expected
    jobs = _load(PROMETHEUS)["scrape_configs"]
    targets: set[str] = set()
    for job in jobs:
        assert job.get("metrics_path", "/metrics") == "/metrics"
        for static in job["static_configs"]:
            targets |= set(static["targets"])
    assert targets == expected


def test_prometheus_config_explains_the_token() -> None:
    """/metrics sits behind RECSYS_API_TOKEN like every page but the probes: the config says how to send it."""
    assert "/metrics" not in OPEN_PAGES and "/metrics/" not in OPEN_PAGES, (
        "/metrics is open now: update the token note in deploy/prometheus.yml"
    )
    text = PROMETHEUS.read_text()
    assert "RECSYS_API_TOKEN" in text and "credentials_file" in text


def monitoring_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in compose()["services"].items() if "monitoring" in s.get("profiles", [])}


def test_monitoring_services_mount_files_that_exist() -> None:
    services = monitoring_services()
    assert set(services) == {"prometheus", "grafana"}
    mounts: dict[str, str] = {}  # container path -> host path of every bind mount
    for name, service in services.items():
        for ports in service["ports"]:
            assert str(ports).startswith("127.0.0.1:"), f"{name} publishes {ports} beyond this machine"
        for volume in service["volumes"]:
            source, target, *mode = str(volume).split(":")
            if source.startswith((".", "/")):
                assert (DEPLOY / source).exists(), f"{name} mounts {source}, which does not exist"
                assert mode == ["ro"], f"{name} mounts {source} writable"
                mounts[target] = source
            else:
                assert source in compose()["volumes"], f"{name} uses an undeclared volume {source}"
    # Prometheus reads deploy/prometheus.yml; Grafana the provisioning files and the dashboard folder
    command = services["prometheus"]["command"]
    config = next(arg.split("=", 1)[1] for arg in command if arg.startswith("--config.file="))
    assert (DEPLOY / mounts[config]).resolve() == PROMETHEUS.resolve()
    provisioned = {(DEPLOY / host).resolve() for target, host in mounts.items() if "provisioning" in target}
    assert {DATASOURCES.parent.resolve(), PROVIDERS.parent.resolve()} <= provisioned
    folder = _load(PROVIDERS)["providers"][0]["options"]["path"]
    assert (DEPLOY / mounts[folder]).resolve() == DASHBOARD.parent.resolve()
    home = services["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{folder}/{DASHBOARD.name}"
    # the datasource reaches the compose Prometheus on the port it listens on
    assert provisioned_datasource()["url"] == "http://prometheus:9090"
    assert any(str(p).endswith(":9090") for p in services["prometheus"]["ports"])


# ---------------------------------------------------------------------------- promtool
def promtool() -> str:
    found = shutil.which("promtool") or ("/usr/bin/promtool" if Path("/usr/bin/promtool").exists() else None)
    if found is None:
        if os.environ.get("TESTS_REQUIRE_TOOLS") == "1":
            pytest.fail("promtool is not installed (apt-get install prometheus) and TESTS_REQUIRE_TOOLS=1")
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return found


def test_promtool_checks_the_scrape_config() -> None:
    result = subprocess.run([promtool(), "check", "config", str(PROMETHEUS)], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    """Each query, with Grafana's variables filled in, as a recording rule: promtool parses its PromQL."""
    rules = []
    for n, (_, expr, _) in enumerate(queries()):
        if "label_values(" in expr:  # Grafana's, not PromQL: check the selector inside
            expr = re.sub(r"label_values\(([^,]+),\s*\w+\s*\)", r"\1", expr)
        expr = re.sub(r"\$__range\b|\$__\w*interval\b", "5m", expr)
        expr = re.sub(r"\$\w+", "x", expr)
        rules.append({"record": f"dashboard:query_{n}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(json.dumps({"groups": [{"name": "dashboard", "rules": rules}]}))  # JSON is YAML
    result = subprocess.run([promtool(), "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
