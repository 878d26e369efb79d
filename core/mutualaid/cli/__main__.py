"""``python -m mutualaid.cli``: the ``mutualaid`` command."""

from __future__ import annotations

from . import main

main()
