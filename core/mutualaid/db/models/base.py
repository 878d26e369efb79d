"""What every table shares: the naming of constraints and indexes, the key and money column
types, and the declarative base."""

from __future__ import annotations

from typing import Annotated

from sqlalchemy import (
    BigInteger,
    Integer,
    MetaData,
    String,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column

#: The condition of the partial index of members not active, as queries must repeat it to use it.
NOT_ACTIVE = "status != 'active'"
#: The condition of the partial index of the members' history past joining (the lapses, freezes,
#: exits, ...), as queries must repeat it to use it.
PAST_JOINING = "change NOT IN ('joined', 'covered')"

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# An auto-incrementing 64-bit key that is SQLite's rowid on SQLite.
Id = BigInteger().with_variant(Integer, "sqlite")
Minor = Annotated[int, mapped_column(BigInteger)]
Key = Annotated[str, mapped_column(String(64))]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
