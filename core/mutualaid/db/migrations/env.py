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


def run_migrations_offline() -> None:
    """The SQL of the migrations, written out rather than run (``mutualaid db upgrade --sql``).

    A migration that must read the database to know what to write (SQLite's copies of a table in
    batch mode, a backfill computed in Python) cannot be rendered this way; it fails, and
    ``mutualaid db upgrade --sql`` says which one.
    """
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        render_as_batch=True,
        literal_binds=True,
        transactional_ddl=True,
    )
    context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
