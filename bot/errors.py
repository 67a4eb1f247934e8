"""Errors a person can be shown as they are: each message says what was wrong and what to do."""

from bot.domain.model import InvalidValue


class ActionbotError(Exception):
    """Base of the errors whose message is meant for the person who asked."""


class NotFound(ActionbotError):
    pass


class Ambiguous(ActionbotError):
    """What was asked for fits several things: the message lists them with their ids."""


class Conflict(ActionbotError):
    """Someone else changed the thing between reading and writing it."""


class PermissionDenied(ActionbotError):
    pass


__all__ = ["ActionbotError", "Ambiguous", "Conflict", "InvalidValue", "NotFound", "PermissionDenied"]
