"""Pools: create one from a validated definition, look one up (its definition re-validated against
its installed cohort), list them, and a pool's today."""

from __future__ import annotations

from .service import PoolRecord, create_pool, get_pool, list_pools, lock_pool, pool_today

__all__ = ["PoolRecord", "create_pool", "get_pool", "list_pools", "lock_pool", "pool_today"]
