"""Exceptions raised for user mistakes (bad dates, unknown labels, ...)."""


class QueryError(ValueError):
    """A query cannot be run as asked: the message says why, in one line."""


class UnknownLabel(QueryError, KeyError):
    """A label asked for does not exist in the record store."""

    def __str__(self):  # KeyError would repr() the message
        return self.args[0] if self.args else ""
