"""deploy/: the daskhub values name only options the charts define; the image is environment.yml + the hub.

Helm validates a release's values (the chart's defaults merged with ours) against each chart's
values schema; this does the same with the schemas of the chart versions daskhub pins, copied
into ``tests/data/charts`` (see its SOURCES.md). The free-form parts the schemas cannot check
(``hub.config`` traitlets, the gateway's ``extraConfig`` Python) are checked against the
installed JupyterHub and dask-gateway-server in ``tests/services/test_hub_server.py``.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
VALUES = ROOT / "deploy" / "daskhub-values.yaml"
CHARTS = ROOT / "tests" / "data" / "charts"
#: daskhub's own values: the two charts below, plus rbac (dask/helm-chart daskhub/values.yaml).
DASKHUB_KEYS = {"rbac", "jupyterhub", "dask-gateway"}
SCHEMAS = {"jupyterhub": ("z2jh-4.4.0.schema.yaml", "z2jh-4.4.0.values.yaml"),
           "dask-gateway": ("dg-2026.3.0.schema.yaml", "dg-2026.3.0.values.yaml")}


def _merge(base: dict, over: dict) -> dict:
    """Helm's values merge: mappings merge key by key, anything else replaces."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text())


def _validate(chart: str, values: dict) -> None:
    schema, defaults = (yaml.safe_load((CHARTS / f).read_text()) for f in SCHEMAS[chart])
    jsonschema.Draft7Validator(schema).validate(_merge(defaults, values))


def test_top_level_keys_are_daskhubs(values):
    assert set(values) <= DASKHUB_KEYS


@pytest.mark.parametrize("chart", sorted(SCHEMAS))
def test_values_match_the_charts_schema(values, chart):
    _validate(chart, values[chart])


@pytest.mark.parametrize("chart, typo, word", [
    ("dask-gateway", {"gateway": {"backend": {"worker": {"thread": 1}}}}, "thread"),
    ("jupyterhub", {"singleuser": {"memory": {"limitt": "4G"}}}, "limitt"),
])
def test_a_misspelt_option_is_caught(values, chart, typo, word):
    """The check can fail: an option the chart does not define is an error."""
    with pytest.raises(jsonschema.ValidationError, match=word):
        _validate(chart, _merge(values[chart], typo))


def test_the_lab_limits_let_adapt_4_24_run_and_clusters_stay_behind_the_hub(values):
    extra = values["dask-gateway"]["gateway"]["extraConfig"]
    assert "c.ClusterConfig.cluster_max_workers = 24" in extra["20-limits"]
    assert values["dask-gateway"]["gateway"]["prefix"] == "/services/dask-gateway"
    assert values["dask-gateway"]["traefik"]["service"]["type"] == "ClusterIP"
    assert values["jupyterhub"]["hub"]["config"]["Authenticator"]["allow_existing_users"] is False


def test_the_image_is_environment_yml_plus_the_hub_and_the_lab(values):
    docker = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "COPY --chown=$MAMBA_USER:$MAMBA_USER environment.yml /tmp/environment.yml" in docker
    installs = re.findall(r"micromamba install [^\n]*", docker)
    assert installs == ["micromamba install --yes --name base --file /tmp/environment.yml tini \\"]
    pips = re.findall(r"pip install ([^\n&\\]*)", docker)
    # jupyterhub-singleuser (matching the chart's hub), then the library itself without dependencies
    assert [p.split() for p in pips] == [["--no-cache-dir", '"jupyterhub==5.5.0"'],
                                         ["--no-deps", "--no-cache-dir", "/tmp/lab"]]
    # Students' servers and the gateway's schedulers and workers run the same image: the same dask.
    image = values["jupyterhub"]["singleuser"]["image"]
    assert image == {"name": "ghcr.io/YOUR-ORG/labhelpers-lab", "tag": "0.2.0"}
    assert values["dask-gateway"]["gateway"]["backend"]["image"] == image
