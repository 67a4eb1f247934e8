"""Ids shared by renderers and handlers: button verbs, and the input names of update forms."""

from enum import StrEnum


class Verb(StrEnum):
    OPEN_UPDATE = "open_update"  # open the update form for one action
    ON_TRACK = "on_track"  # one-click: still on track, no other change
    MARK_DONE = "mark_done"  # one-click: complete (goes to sign-off)
    SNOOZE = "snooze"  # remind me later
    SUBMIT_UPDATE = "submit_update"  # the form's submit
    CONFIRM = "confirm"  # yes, apply what was read from my free text
    CANCEL = "cancel"  # no, change nothing
    APPROVE = "approve"  # sign-off stage approves
    RETURN = "return"  # sign-off stage: open the return-with-note form
    SUBMIT_RETURN = "submit_return"  # the return form's submit (the note is required)
    UNDO = "undo"  # take back my last update (within 10 minutes)
    CONFIRM_IMPORT = "confirm_import"  # commit exactly the import preview shown
    CANCEL_IMPORT = "cancel_import"  # drop the import preview
    SHOW_ACTIONS = "show_actions"  # "my actions" again (App Home, refresh)
    REFRESH = "refresh"  # a card showing an action asks for its current face (Teams' automatic refresh)


class Field(StrEnum):
    STATUS = "status"
    RAG = "rag"
    TEXT = "progress"
    REVISED_TARGET = "revised_target"
    REASON = "reason"
    EVIDENCE = "evidence"
    NOTE = "note"  # a sign-off return's note
