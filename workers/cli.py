"""`oms` commands: dev, worker, api, migrate, seed."""

from __future__ import annotations

import argparse

from adapters.db import make_engine
from adapters.settings import Settings
from adapters.tokens import TokenRepository
from workers import api_server, dev, reconcile, worker
from workers.demo import issue_demo_tokens, seed_demo
from workers.migrate import migrate


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="oms", description="Omni OMS commands")
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, text in [
        ("dev", "run the whole stack in the foreground"),
        ("worker", "run a worker"),
        ("api", "run the API"),
        ("migrate", "bring the database to the latest schema"),
        ("seed", "load the demo data and tokens"),
        ("reconcile", "print every discrepancy between money, stock and orders"),
    ]:
        sub.add_parser(name, help=text)
    args = parser.parse_args(argv)
    settings = Settings()
    if args.cmd == "dev":
        dev.main()
    elif args.cmd == "worker":
        worker.main()
    elif args.cmd == "api":
        api_server.main()
    elif args.cmd == "reconcile":
        reconcile.main()
    elif args.cmd == "migrate":
        migrate(settings.db_url)
    elif args.cmd == "seed":
        migrate(settings.db_url)
        engine = make_engine(settings.db_url)
        seed_demo(engine, settings.home)
        print(
            issue_demo_tokens(
                TokenRepository(engine, admin_token=settings.secret("admin_token")), settings.home
            )
        )


if __name__ == "__main__":
    main()
