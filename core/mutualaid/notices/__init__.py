"""Member notices: one pipeline, driven by a spec per kind of notice.

``spec`` (what a kind is), ``kinds`` (the core's, one module each, and the plugins'), ``pipeline``
(the one rendering loop), ``context`` (the values every notice gets), ``environment`` (Jinja2:
sandboxed, strict, text and HTML, templates overridable by cohort and operator), ``writer``
(files or streams, staged) and ``service`` (rendering on request). The only domain that imports
Jinja2.
"""

from __future__ import annotations

from .context import describe_rules, member_columns
from .environment import FORMATS, LOCALES, make_environment
from .kinds import KINDS, LOW_BALANCE, STATEMENT, WELCOME, all_kinds, spec_for
from .pipeline import RenderedNotice, Renderer, RenderResult, render
from .service import prepare, render_notices
from .spec import NoticeRequest, NoticeSpec

__all__ = [
    "FORMATS",
    "KINDS",
    "LOCALES",
    "LOW_BALANCE",
    "STATEMENT",
    "WELCOME",
    "NoticeRequest",
    "NoticeSpec",
    "RenderResult",
    "RenderedNotice",
    "Renderer",
    "all_kinds",
    "describe_rules",
    "make_environment",
    "member_columns",
    "prepare",
    "render",
    "render_notices",
    "spec_for",
]
