"""The Jinja2 environment notices are rendered in: templates from the core, overridden by the
cohort and by the operator, sandboxed and immutable (operators' templates are untrusted, and cannot
change what they are given), strict (a missing value is an error, never a blank), autoescaped for
HTML only.

Templates are looked up as ``<locale>/<name>.txt.j2`` (plain text) and ``<locale>/<name>.html.j2``
(HTML, autoescaped; they extend ``layout.html.j2``, a page readable on a phone and printable) in,
first, the operator's directory (if given), then the cohort's ``templates`` directory, then the
core's; the core's are also reachable
as ``core/<locale>/<name>.txt.j2`` so an override can ``{% extends %}`` one and replace a block.
An override works the same for both formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEnvironment

from ..errors import NotFoundError, ValidationError
from ..vocabulary import Locale, NoticeFormat, values

__all__ = [
    "CORE_TEMPLATES",
    "EXTENSIONS",
    "FORMATS",
    "LOCALES",
    "check_formats",
    "check_locale",
    "get_template",
    "make_environment",
    "render",
]

LOCALES = values(Locale)
FORMATS = values(NoticeFormat)
#: The file extension of each format, for templates (``.<ext>.j2``) and rendered notices.
EXTENSIONS = {NoticeFormat.TEXT.value: "txt", NoticeFormat.HTML.value: "html"}
CORE_TEMPLATES = Path(__file__).parent / "templates"


def make_environment(
    cohort_templates: Path | None = None, operator_templates: Path | None = None
) -> SandboxedEnvironment:
    """The sandboxed, strict Jinja2 environment notices are rendered in."""
    search: list[jinja2.BaseLoader] = []
    if operator_templates is not None:
        if not Path(operator_templates).is_dir():
            raise ValidationError([f"templates directory {operator_templates} does not exist"])
        search.append(jinja2.FileSystemLoader(str(operator_templates)))
    if cohort_templates is not None:
        search.append(jinja2.FileSystemLoader(str(cohort_templates)))
    core = jinja2.FileSystemLoader(str(CORE_TEMPLATES))
    search.append(jinja2.PrefixLoader({"core": core}))
    search.append(core)
    # Immutable: a template cannot change a list or a dict it is given (``run.classes.append``),
    # so nothing one member's notice does can reach the next member's.
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(search),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "htm", "html.j2"), default_for_string=False, default=False
        ),
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def check_locale(locale: str) -> None:
    if locale not in LOCALES:
        raise ValidationError([f"locale {locale!r} is not supported; use one of {', '.join(LOCALES)}"])


def check_formats(formats: tuple[str, ...]) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValidationError(
            [f"format {', '.join(map(repr, bad)) or 'none'} is not supported; use {' or '.join(FORMATS)} (or both)"]
        )


def get_template(
    env: SandboxedEnvironment, kind: str, template: str, locale: str, fmt: str = NoticeFormat.TEXT
) -> jinja2.Template:
    """The template ``<locale>/<template>.<txt|html>.j2`` of notices of ``kind``, parsed."""
    name = f"{locale}/{template}.{EXTENSIONS[fmt]}.j2"
    try:
        return env.get_template(name)
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError([f"template {exc.filename or name}:{exc.lineno}: {exc.message}"]) from None
    except jinja2.TemplateNotFound:
        raise NotFoundError(f"no template {name} for notices of kind {kind!r}") from None
    except UnicodeDecodeError:
        raise ValidationError([f"template {name} is not UTF-8 text; save it as UTF-8"]) from None


def render(template: jinja2.Template, context: Mapping[str, Any], what: str) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise ValidationError([f"template {template.name} for {what}: {exc.message}"]) from None
    except jinja2.exceptions.SecurityError as exc:
        raise ValidationError([f"template {template.name} is not allowed to do that: {exc}"]) from None
    # A template it extends or includes is looked up, and parsed, only when it is rendered.
    except jinja2.TemplateSyntaxError as exc:
        raise ValidationError([f"template {exc.filename or exc.name}:{exc.lineno}: {exc.message}"]) from None
    except jinja2.TemplateNotFound as exc:
        raise ValidationError(
            [f"template {template.name} uses the template {exc.name!r}, which is in no template directory"]
        ) from None
    except UnicodeDecodeError as exc:  # a template it extends or includes, read only now
        raise ValidationError(
            [f"template {template.name} uses a template that is not UTF-8 text ({exc.reason}); save it as UTF-8"]
        ) from None
    except RecursionError:
        raise ValidationError(
            [
                f"template {template.name} never ends: it extends or includes itself, or a macro calls itself "
                "without end; fix the template"
            ]
        ) from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        # An expression in the template failed ({{ 1/0 }}, {{ charge + 1 }}): the template's fault.
        raise ValidationError(
            [f"template {template.name} failed for {what}: {type(exc).__name__}: {exc}; fix the template"]
        ) from None
