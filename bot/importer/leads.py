"""Splitting a plan's lead-officer cell into the people or roles it names."""

from __future__ import annotations

import re

# Words that make a phrase a role, team or body rather than a person's name.
_ROLE_WORDS = frozenset(
    """head hos director manager managers officer officers team group board service services
    assurance safeguarding commissioning council partnership panel lead leads chair sub
    strategic unit department directorate nhs trust hr support senior principal practitioner
    practitioners school schools authority quality projects transformation care children""".split()
)
_NAME_WORD = re.compile(r"^[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)*$|^O['’][A-Z][a-z]+$|^Mc[A-Z][a-z]+$")
_SLASH = re.compile(r"\s*/\s*")
_COMMA = re.compile(r"\s*[,;\n]\s*")
_AND = re.compile(r"\s+(?:&|and|with)\s+", re.I)


def _is_name(text: str) -> bool:
    """Two or three capitalised words that are not role words: "Ailsa Barr", "Nick O'Reilly"."""
    words = text.split()
    return 2 <= len(words) <= 3 and all(_NAME_WORD.match(w) and w.lower() not in _ROLE_WORDS for w in words)


def _split_run_of_names(text: str) -> list[str]:
    """"Joyce Thacker Alan Hazell Linda Alcock" (line breaks lost) -> three names, but only
    when every word is a capitalised name word and they pair up exactly."""
    words = text.split()
    if len(words) >= 4 and len(words) % 2 == 0 and all(
        _NAME_WORD.match(w) and w.lower() not in _ROLE_WORDS for w in words
    ):
        return [" ".join(words[i : i + 2]) for i in range(0, len(words), 2)]
    return [text]


def split_leads(text: str) -> list[str]:
    """The individual people or roles named in a lead cell, in order, without repeats.

    Splits on "/" and "," and ";" always; on " & ", " and ", " with " only when the pieces on
    both sides read as people's names (so "Head of Safeguarding & Quality Assurance" and
    "HoS Commissioning and Transformation Projects" stay whole). A person with a role after a
    dash stays one entry: "Tina Smith - East Midlands Strategic Commissioning Group"."""
    text = " ".join((text or "").split())
    if not text:
        return []
    parts: list[str] = []
    for chunk in _COMMA.split(text):
        for piece in _SLASH.split(chunk):
            piece = piece.strip(" .-–")
            if not piece:
                continue
            if parts and piece[0].islower() and not _AND.match(" " + piece):
                parts[-1] = f"{parts[-1]}, {piece}"  # "Director, children's services"
                continue
            parts.extend(_split_joined(piece))
    seen: list[str] = []
    for p in parts:
        if p and p.lower() not in (s.lower() for s in seen):
            seen.append(p)
    return seen


_TITLE_END = frozenset(
    """lead manager officer director nurse inspector worker adviser advisor head chair coordinator
    co-ordinator consultant partner practitioner commissioner psychologist teacher principal
    executive sponsor""".split()
)
_TITLE_START = re.compile(r"^(?:head|director|(?:assistant|deputy|executive)\s+director|chair|chief\s+\w+|lead|manager)\s+(?:of|for)\s", re.I)


def _is_title(text: str) -> bool:
    """A whole job title ("Partnership Business Manager", "Head of Early Help"), not a field of
    work ("Quality Assurance", "Transformation Projects")."""
    words = text.split()
    return len(words) >= 2 and (words[-1].lower().strip(".,") in _TITLE_END or bool(_TITLE_START.match(text)))


def _split_joined(piece: str) -> list[str]:
    pieces = _AND.split(piece)
    if len(pieces) > 1 and all(_is_title(p) for p in pieces):
        return pieces  # "Education Safeguarding Lead and Partnership Business Manager": two roles
    if len(pieces) > 1:
        # "Phil Bradley & Ailsa Barr" splits; "Kevin Stevens With Senior Management Team" too
        # (the part after "with" is a team working with the lead); role titles do not.
        if _is_name(pieces[0]) and all(_is_name(p) or is_role(p) for p in pieces[1:]):
            out: list[str] = []
            for p in pieces:
                out.extend(_split_run_of_names(p))
            return out
        joined_by_with = re.split(r"\s+with\s+", piece, flags=re.I)
        if len(joined_by_with) == 2 and _is_name(joined_by_with[0]):
            return [joined_by_with[0], *_split_run_of_names(joined_by_with[1])]
        return [piece]
    return _split_run_of_names(piece)


def is_role(text: str) -> bool:
    """Does this lead read as a role, team or body ("Head of Service", "LSCB Sub Group")
    rather than a person's name?"""
    return any(w.lower().strip("'’") in _ROLE_WORDS for w in text.split())




_JOINING = frozenset("of and & for in the a to with".split())
_INITIALISM = re.compile(r"^[A-Z][A-Za-z]{0,1}[A-Z]{1,4}s?$")  # DCS, HoS, AD, SENCOs
_NOT_A_LEAD = re.compile(r"\d|[.!?;:]\s|\b(?:the|will|to|be|is|are|was|has|have)\b", re.I)


def is_person_or_role(text: str) -> bool:
    """Does a short cell read as a lead: people's names, role titles or teams, one or several
    ("Head of Service / Nina Martin", "DCS and AD Early Help")? Sentences, dates and numbers
    are not."""
    if not text or _NOT_A_LEAD.search(text) or len(text.split()) > 14:
        return False
    parts = split_leads(text)
    if not parts:
        return False
    for part in parts:
        words = part.split()
        if len(words) > 8:
            return False
        if _is_name(part):
            continue
        if is_role(part) and words[0][:1].isupper() and sum(
            1 for w in words if w[:1].islower() and w.lower() not in _JOINING
        ) <= 2:  # "Director of children's services", not "Introduce a practice week for managers"
            continue
        if all(_INITIALISM.match(w) or w.lower() in ("of", "and", "&", "for") for w in words):
            continue
        if all(w[:1].isupper() or w.lower() in ("of", "and", "&", "for", "in") for w in words) and len(words) >= 2:
            continue  # "Early Help Partnership", "Virtual School"
        return False
    return True
