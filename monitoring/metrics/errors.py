"""Exceptions raised by the metrics package.

Every error is a ``ValueError`` (bad input, not a bug) and names the column or input at fault, so a check
run can store the message as its error and the API can turn it into a 4xx.
"""

from __future__ import annotations


class MetricsError(ValueError):
    """Base class: the input cannot be measured as given."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


class EmptyDataError(MetricsError):
    """A dataset, a column or an input array has no usable rows."""


class SchemaMismatchError(MetricsError):
    """Current data lacks columns the reference has, or a column cannot be compared as typed."""


class ColumnTypeError(SchemaMismatchError):
    """A column's values do not fit the kind (numeric or categorical) it is compared as."""


class NonFiniteValueError(MetricsError):
    """A numeric column holds +inf or -inf and the caller asked for them to be rejected."""


class InvalidInputError(MetricsError):
    """Arguments that do not fit together: lengths differ, labels are not binary, a setting is out of range."""
