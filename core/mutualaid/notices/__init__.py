"""Member notices: one pipeline, driven by a spec per kind of notice.

``spec`` (what a kind is), ``kinds`` (the core's: statement, welcome, low-balance), ``pipeline``
(the one rendering loop), ``context`` (the values every notice gets), ``environment`` (Jinja2:
sandboxed, strict, templates overridable by cohort and operator), ``writer`` (files or streams,
staged) and ``service`` (rendering on request). The only domain that imports Jinja2.
"""

from __future__ import annotations

from .context import describe_rules
from .environment import LOCALES, make_environment
from .kinds import KINDS, LOW_BALANCE, STATEMENT, WELCOME, spec_for
from .pipeline import RenderResult, render
from .service import render_notices
from .spec import NoticeRequest, NoticeSpec

__all__ = [
    "KINDS",
    "LOCALES",
    "LOW_BALANCE",
    "STATEMENT",
    "WELCOME",
    "NoticeRequest",
    "NoticeSpec",
    "RenderResult",
    "describe_rules",
    "make_environment",
    "render",
    "render_notices",
    "spec_for",
]
