"""docker-compose.yml and the Dockerfile, checked by reading them (no Docker engine here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapters.settings import SEARCH_ATTRIBUTES, Settings

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
# Settings used only by the embedded dev stack to pick its own ports and URLs.
DEV_ONLY = {
    "temporal_port",
    "ui_port",
    "gateway_port",
    "channel_sim_port",
    "wms_port",
    "courier_port",
    "sim_wms_delay_s",
    "sim_courier_delay_s",
}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_every_service_the_product_needs_is_there(compose: dict) -> None:
    services = compose["services"]
    for name in (
        "postgresql",
        "temporal",
        "temporal-ui",
        "register-search-attributes",
        "migrate",
        "api",
        "worker",
        "gateway",
    ):
        assert name in services, name
    assert "postgres" in services["temporal"]["environment"]["DB"]
    assert services["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_the_api_and_the_worker_are_built_here_and_have_healthchecks(compose: dict) -> None:
    for name in ("api", "worker"):
        svc = compose["services"][name]
        assert svc["build"] == "."
        assert "healthcheck" in svc
        assert svc["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "ports" not in compose["services"]["worker"], "workers must scale with --scale"


def test_every_setting_the_app_reads_is_given_to_the_api_and_the_worker(compose: dict) -> None:
    wanted = {f"OMS_{name.upper()}" for name in Settings.model_fields} - {
        f"OMS_{n.upper()}" for n in DEV_ONLY
    }
    for name in ("api", "worker"):
        env = compose["services"][name]["environment"]
        missing = wanted - set(env)
        assert not missing, (name, sorted(missing))
        assert env["OMS_DATABASE_URL"].startswith("postgresql://")
        assert env["OMS_ENV"] == "production"


def test_the_search_attributes_job_registers_every_attribute(compose: dict) -> None:
    command = " ".join(compose["services"]["register-search-attributes"]["command"])
    for name, kind in SEARCH_ATTRIBUTES.items():
        assert f"{name}={kind}" in command


def test_the_image_carries_every_package_of_the_product() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("domain", "adapters", "activities", "workflows", "api", "workers", "migrations"):
        assert f"COPY {folder} ./{folder}" in dockerfile
    assert "--require-hashes -r requirements.lock" in dockerfile
