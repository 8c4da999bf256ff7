"""The API process: settings -> engine -> app, served by uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from adapters.db import make_engine
from adapters.events import set_outbox
from adapters.settings import Settings
from api.app import create_app
from workers.heap import settle_heap
from workers.temporal import connect


def build(settings: Settings) -> FastAPI:
    set_outbox(settings.channel_events)
    return create_app(settings, make_engine(settings.db_url), lambda: connect(settings))


def main() -> None:
    settings = Settings()
    app = build(settings)
    settle_heap()
    uvicorn.run(
        app,
        host=settings.api_host,
        port=settings.api_port,
        log_level="warning",
        forwarded_allow_ips=settings.forwarded_allow_ips,
    )


if __name__ == "__main__":
    main()
