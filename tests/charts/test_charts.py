"""Every chart under helm/: helm lint, chart-testing's lint, its helm-unittest suites, and a values schema that
documents exactly the values its `## @param` comments do. The umbrella's values are rendered from
inventories/paper first (into its ci/ folder, which chart-testing lints with): the inventory is their source.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from medledger_tools import helm_values, topology
from medledger_tools.k8s.cluster import artifact_bin
from medledger_tools.paths import REPO_ROOT

HELM = REPO_ROOT / "helm"
CHARTS = sorted(path.parent for path in HELM.glob("*/Chart.yaml"))
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", REPO_ROOT / "artifacts"))
PARAM = re.compile(r"^## @param (\S+)")


@pytest.fixture(scope="module", autouse=True)
def paper_values(paper: topology.Topology) -> None:
    """Each chart's ci/paper-values.yaml: the umbrella's whole rendering, a component chart's own part of it
    with the global values; and each chart's dependencies (the library chart) built."""
    rendered = helm_values.render(paper)
    for chart in CHARTS:
        if yaml.safe_load((chart / "Chart.yaml").read_text()).get("type") == "library":
            continue
        values = rendered if chart.name == "medledger" else {"global": rendered["global"], **rendered[chart.name]}
        (chart / "ci").mkdir(exist_ok=True)
        (chart / "ci" / "paper-values.yaml").write_text(yaml.safe_dump(values, sort_keys=False))
        if (chart / "Chart.lock").exists():
            run([tool("helm", "helm"), "dependency", "build", "--skip-refresh", str(chart.relative_to(REPO_ROOT))])


def tool(artifact: str, name: str) -> str:
    return str(artifact_bin(ARTIFACTS, artifact) / name)


def run(command: list[str]) -> str:
    environment = dict(os.environ, PATH=f"{Path(tool('helm', 'helm')).parent}:{os.environ['PATH']}")
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, env=environment, check=False)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.mark.parametrize("chart", CHARTS, ids=[chart.name for chart in CHARTS])
def test_chart_testing_lints_the_chart(chart: Path) -> None:
    etc = artifact_bin(ARTIFACTS, "chart-testing").parent / "etc"
    run([tool("chart-testing", "ct"), "lint", "--charts", str(chart.relative_to(REPO_ROOT)),
         "--chart-yaml-schema", str(etc / "chart_schema.yaml"), "--lint-conf", str(etc / "lintconf.yaml"),
         "--validate-maintainers=false", "--check-version-increment=false", "--target-branch=main"])  # fmt: skip


@pytest.mark.parametrize("chart", CHARTS, ids=[chart.name for chart in CHARTS])
def test_the_charts_unit_tests_pass(chart: Path) -> None:
    if not (chart / "tests").is_dir():
        pytest.skip("a library chart renders nothing of its own")
    run([tool("helm-unittest", "helm-unittest"), "--color=false", str(chart.relative_to(REPO_ROOT))])


def documented(values: Path) -> set[str]:
    return {match.group(1) for line in values.read_text().splitlines() if (match := PARAM.match(line))}


def schema_leaves(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted paths of the schema's values that hold no further named values (objects whose keys it lists)."""
    properties = schema.get("properties")
    if not properties:
        return {prefix} if prefix else set()
    leaves: set[str] = set()
    for name, child in properties.items():
        leaves |= schema_leaves(child, f"{prefix}.{name}" if prefix else name)
    return leaves


@pytest.mark.parametrize(
    "chart", [chart for chart in CHARTS if (chart / "values.schema.json").exists()], ids=lambda chart: chart.name
)
def test_the_schema_and_the_param_comments_name_the_same_values(chart: Path) -> None:
    schema = json.loads((chart / "values.schema.json").read_text())
    leaves = schema_leaves(schema)
    params = documented(chart / "values.yaml")
    assert params - leaves == set(), "documented but not in the schema"
    assert leaves - params == set(), "in the schema but not documented"


def test_a_schema_refusal_names_the_value_before_anything_is_rendered() -> None:
    result = subprocess.run(
        [tool("helm", "helm"), "template", "t", "helm/medledger", "-f", "helm/medledger/ci/paper-values.yaml",
         "--set", "global.consensus=solo"],
        cwd=REPO_ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert "'/global/consensus': value must be one of 'kafka', 'etcdraft'" in result.stderr


def test_the_clusters_channels_get_the_vms_policies_and_acls() -> None:
    """helm/orderer's configtx.yaml repeats the channel defaults of roles/fabric_orderer's template (Helm cannot
    read the role's Jinja): the Application, Channel and Orderer policies and the ACLs must stay the same."""
    values, configmap = "helm/orderer/ci/paper-values.yaml", "templates/configmap.yaml"
    rendered = run([tool("helm", "helm"), "template", "paper", "helm/orderer", "--namespace", "medledger",
                    "--values", values, "--show-only", configmap])  # fmt: skip
    cluster = yaml.safe_load(yaml.safe_load(rendered)["data"]["configtx.yaml"])
    template = (REPO_ROOT / "roles" / "fabric_orderer" / "templates" / "configtx.yaml.j2").read_text()
    capabilities = template[template.index("Capabilities:\n") : template.index("Orderer: &OrdererDefaults")]
    vms = yaml.safe_load(capabilities + template[template.index("Application: &") : template.index("Profiles:")])
    assert cluster["Application"] == vms["Application"]
    assert cluster["Channel"] == vms["Channel"]
    orderer_policies = template[template.index("  Policies:\n    Readers: {Type: ImplicitMeta") :]
    assert (
        cluster["Orderer"]["Policies"]
        == yaml.safe_load(orderer_policies[: orderer_policies.index("  Capabilities:")])["Policies"]
    )
