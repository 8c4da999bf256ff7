"""One settings object, read from OMS_* environment variables; defaults give a local stack."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

SEARCH_ATTRIBUTES = {
    "OrderStatus": "Keyword",
    "Channel": "Keyword",
    "MemberId": "Keyword",
    "LocationIds": "KeywordList",
    "OrderTotal": "Int",
    "FulfilmentStatus": "Keyword",
    "PartStatuses": "KeywordList",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    env: str = Field("dev", description="dev or production; production refuses missing secrets")
    home: Path = Path(".oms")
    database_url: str | None = None
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    ui_port: int = 8233
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    task_queue: str = "oms-orders"
    admin_token: str | None = None
    demo_data: bool = True
    payment_timeout_s: int = 900
    accept_timeout_s: int = 600
    pickup_expiry_s: int = 3 * 24 * 3600
    delivery_confirm_s: int = 7 * 24 * 3600
    return_window_s: int = 7 * 24 * 3600
    min_credit_score: int = 60
    payment_webhook_secret: str | None = None
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8010
    gateway_url: str | None = None
    api_url: str | None = None
    rate_limit_per_minute: int = 6000
    # The chain's own channels: they see a member's orders from every channel; marketplaces
    # (tmall, jd, meituan, ...) see only orders placed through them.
    first_party_channels: list[str] = ["app", "miniprogram", "pos"]

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'oms.db').resolve()}"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def gateway_base_url(self) -> str:
        return self.gateway_url or f"http://127.0.0.1:{self.gateway_port}"

    @property
    def api_base_url(self) -> str:
        return self.api_url or f"http://127.0.0.1:{self.api_port}"

    def secret(self, name: str) -> str:
        """A secret from the environment; in dev, generated once and kept under `home`."""
        value = getattr(self, name)
        if value:
            return str(value)
        if self.env != "dev":
            raise RuntimeError(f"OMS_{name.upper()} must be set outside dev mode")
        path = self.home / name
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()
