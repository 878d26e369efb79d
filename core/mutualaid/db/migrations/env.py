"""Alembic environment for mutualaid: runs on the connection the core hands over."""

from __future__ import annotations

from alembic import context

from mutualaid.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from mutualaid.db.engine import make_engine

        engine = make_engine(config.get_main_option("sqlalchemy.url"))
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("mutualaid migrations run online only: use 'mutualaid db upgrade'")
run_migrations_online()
