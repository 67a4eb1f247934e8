"""The one conversation every chat platform shares.

Adapters build an ``Incoming`` (see ``events``) and call ``Conversation.handle``; it returns a
``Reply``. What a message, a button or a form means is decided here and only here.
"""

from bot.conversation.events import FileIn, Incoming, OutFile, Press, Reply, Said, Submit, Who

__all__ = ["FileIn", "Incoming", "OutFile", "Press", "Reply", "Said", "Submit", "Who"]
