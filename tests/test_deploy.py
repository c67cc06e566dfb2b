"""Deployment files, checked without Docker or a cluster: they parse, and they say what the README promises."""

from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
SECRETS = ("POSTGRES_PASSWORD", "MQTT_PASSWORD", "SENSORS_MQTT_PASSWORD")


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


def test_compose_runs_two_replicas_with_the_database_and_broker_behind_real_secrets() -> None:
    text = (DOCKER / "compose.yaml").read_text(encoding="utf-8")
    services = _compose()["services"]
    assert set(services) == {"wareroom-1", "wareroom-2", "proxy", "postgres", "mosquitto"}
    replicas = [services["wareroom-1"], services["wareroom-2"]]
    assert [r["build"]["dockerfile"] for r in replicas] == ["docker/Dockerfile"] * 2
    client_ids = {r["environment"]["WAREROOM_MQTT_CLIENT_ID"] for r in replicas}
    assert client_ids == {"wareroom-ingest"}  # the partitions' sessions, each held by one replica at a time
    for replica in replicas:
        env = replica["environment"]
        assert env["WAREROOM_DATABASE_URL"].startswith("postgresql+psycopg://wareroom:${POSTGRES_PASSWORD:?")
        assert "@postgres:5432/" in env["WAREROOM_DATABASE_URL"]
        assert env["WAREROOM_MQTT_URL"].startswith("mqtt://wareroom:${MQTT_PASSWORD:?")
        assert env["WAREROOM_REQUIRE_INGEST_TOKEN"] == "true"
        assert "wareroom-var:/app/var" in replica["volumes"]  # one audit key and checkpoint file for both
        assert replica["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert "ports" not in replica  # only through the proxy
    assert "change-me" not in text
    for secret in SECRETS:  # compose stops with this message while the secret is missing
        assert f"${{{secret}:?set {secret} in docker/.env" in text
        assert f"{secret}=" in (DOCKER / "env.example").read_text(encoding="utf-8")


def test_the_web_port_and_the_broker_are_reachable_from_the_lan_and_the_database_is_not() -> None:
    services = _compose()["services"]
    assert services["proxy"]["ports"] == ["8000:8000"]
    assert services["mosquitto"]["ports"] == ["1883:1883"]
    assert "ports" not in services["postgres"]
    caddy = (DOCKER / "Caddyfile").read_text(encoding="utf-8")
    assert "wareroom-1:8000 wareroom-2:8000" in caddy and "health_uri /readyz" in caddy


def test_the_broker_keeps_sessions_and_asks_for_accounts() -> None:
    mosquitto = _compose()["services"]["mosquitto"]
    config = dict(line.split(None, 1) for line in (DOCKER / "mosquitto-lan.conf").read_text(encoding="utf-8")
                  .splitlines() if line and not line.startswith("#"))
    assert config["listener"] == "1883" and config["allow_anonymous"] == "false"
    assert config["persistence"] == "true" and config["persistence_location"] == "/mosquitto/data/"
    assert config["password_file"].startswith("/mosquitto/data/")
    assert "mosquitto-data:/mosquitto/data" in mosquitto["volumes"]
    assert "./mosquitto-lan.conf:/etc/wareroom/mosquitto.conf:ro" in mosquitto["volumes"]
    script = mosquitto["command"][-1]
    assert "mosquitto_passwd -b -c /mosquitto/data/passwd wareroom" in script and "sensors" in script


def test_the_image_build_context_leaves_local_state_and_secrets_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text(encoding="utf-8").split())
    assert {".git", ".venv", "var", ".env", "docker/.env", "*.pem"} <= ignored
    assert "/readyz" in (DOCKER / "Dockerfile").read_text(encoding="utf-8")


def _manifests() -> list[dict[str, Any]]:
    path = ROOT / "deploy" / "kubernetes" / "wareroom.yaml"
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def test_the_kubernetes_manifests_follow_the_api_schemas() -> None:
    version = kubernetes_validate.latest_version()
    kinds = []
    for manifest in _manifests():
        kubernetes_validate.validate(manifest, version, strict=True)  # raises ValidationError with the path
        kinds.append(manifest["kind"])
    assert kinds == ["Deployment", "PersistentVolumeClaim", "Service", "PodDisruptionBudget", "Ingress"]


def test_the_probes_mean_something() -> None:
    [deployment] = [m for m in _manifests() if m["kind"] == "Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    env = {e["name"]: e for e in container["env"]}
    assert env["WAREROOM_MQTT_CLIENT_ID"]["value"] == "wareroom-ingest"  # the same in every pod (a lease each)
    assert {"WAREROOM_DATABASE_URL", "WAREROOM_MQTT_URL"} <= {
        name for name, e in env.items() if "secretKeyRef" in e.get("valueFrom", {})}
    assert env["WAREROOM_REQUIRE_INGEST_TOKEN"]["value"] == "true"
    [service] = [m for m in _manifests() if m["kind"] == "Service"]
    assert service["spec"]["ports"][0]["targetPort"] == container["ports"][0]["name"]
