"""Errors a person can be shown as they are: each message says what was wrong and what to do."""

from bot.domain.model import InvalidValue


class ActionbotError(Exception):
    """Base of the errors whose message is meant for the person who asked."""


class NotFound(ActionbotError):
    pass


class Conflict(ActionbotError):
    """Someone else changed the thing between reading and writing it."""


class PermissionDenied(ActionbotError):
    pass


__all__ = ["ActionbotError", "Conflict", "InvalidValue", "NotFound", "PermissionDenied"]
