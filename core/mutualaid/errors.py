"""Exceptions raised by mutualaid.

Every error a user can cause is a :class:`MutualAidError`; anything else that escapes is a bug.
The CLI turns a ``MutualAidError`` into a one-line message and exit code 1 (in ``cli``, and
nowhere else)::

    MutualAidError                 base: a user mistake or a refused operation; nothing was changed
    ├── ConfigError                a pool configuration file is invalid (carries every problem)
    ├── PluginError                a plugin failed to load, registered something invalid, or clashes
    ├── NotFoundError              a pool, member, claim or sharing run that does not exist
    ├── ValidationError            bad input for an operation (carries every problem)
    │   ├── IneligibleError        an applicant fails the cohort's eligibility rules
    │   └── ImportRowsError        rows of a member CSV are invalid (carries line numbers)
    ├── StateError                 the operation is not allowed in the object's current state
    │   └── AlreadySharedError     the period has already been shared (a second run is refused)
    ├── DatabaseError              the database cannot be reached or is at an unknown schema
    └── KeyFileError               the key of members' ID numbers is missing, unreadable or not this database's

Messages are whole sentences that name the thing concerned and say what to do next.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "AlreadySharedError",
    "ConfigError",
    "DatabaseError",
    "ImportRowsError",
    "IneligibleError",
    "KeyFileError",
    "MailServerError",
    "MutualAidError",
    "NotFoundError",
    "PluginError",
    "StateError",
    "ValidationError",
]


class MutualAidError(Exception):
    """Base of every error a user can cause. Raising one means nothing was changed."""

    @property
    def lines(self) -> list[str]:
        """The message as the lines a user should see (one per problem)."""
        return [str(self)]


class _ProblemsError(MutualAidError):
    """An error carrying a list of problems, one per line.

    :param shown: how many problems :attr:`lines` lists before ``... and N more`` (all by default);
        :attr:`problems` always holds every one.
    """

    def __init__(self, problems: Sequence[str], *, summary: str | None = None, shown: int | None = None) -> None:
        self.problems = list(problems)
        self.summary = summary
        self.shown = shown
        super().__init__(summary if summary is not None else "; ".join(self.problems))

    @property
    def lines(self) -> list[str]:
        head = [self.summary] if self.summary else []
        if self.shown is not None and len(self.problems) > self.shown:
            hidden = len(self.problems) - self.shown
            return head + self.problems[: self.shown] + [f"... and {hidden} more"]
        return head + self.problems


class ConfigError(_ProblemsError):
    """Raised when a pool configuration is invalid; each problem reads ``FILE: key.path: message``."""


class PluginError(MutualAidError):
    """Raised when a plugin cannot be loaded (strict mode), registers something invalid,
    or registers a cohort key another plugin already registered."""


class NotFoundError(MutualAidError):
    """Raised when a pool, member, claim, cohort or sharing run does not exist."""


class ValidationError(_ProblemsError):
    """Raised when input to an operation is invalid; carries every problem found."""


class IneligibleError(ValidationError):
    """Raised when an applicant does not meet the pool's eligibility rules; lists every reason."""


class ImportRowsError(ValidationError):
    """Raised when rows of a member import are invalid; problems read ``FILE:LINE: field: reason``.

    :param total: how many problems there are when :attr:`problems` holds only the first ones (an
        import of millions of rows keeps a bounded number); :attr:`lines` counts the others.
    """

    def __init__(
        self,
        problems: Sequence[str],
        *,
        summary: str | None = None,
        shown: int | None = None,
        total: int | None = None,
    ) -> None:
        super().__init__(problems, summary=summary, shown=shown)
        self.total = max(total or 0, len(self.problems))

    @property
    def lines(self) -> list[str]:
        if self.total == len(self.problems):
            return super().lines
        head = [self.summary] if self.summary else []
        listed = self.problems if self.shown is None else self.problems[: self.shown]
        return [*head, *listed, f"... and {self.total - len(listed)} more"]


class StateError(MutualAidError):
    """Raised when an operation is not allowed in the current state (e.g. approving a rejected claim)."""


class AlreadySharedError(StateError):
    """Raised when a sharing run is requested for a period that has already been shared."""


class DatabaseError(MutualAidError):
    """Raised when the database cannot be opened, or its schema is newer than this mutualaid."""


class KeyFileError(MutualAidError):
    """Raised when the key members' ID numbers are encrypted under is needed and missing, cannot be
    read, or is not the key this database's ID numbers were encrypted with."""


class MailServerError(MutualAidError):
    """Raised when the mail server cannot be reached, refuses the login, or drops the connection
    and cannot be reached again; what was sent until then is in the send log."""
