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


# A line break inside the cell: "\n", or the importer's marker (bot.importer.read.BREAK).
_LINE_RE = re.compile(r"\s*[\n\u2028]\s*")
_RUNS_ON_END = frozenset("and & or of for in the to with at".split())


def lead_lines(text: str) -> str:
    """A lead cell's text with a line break ("\n") kept wherever the lines are separate leads
    and read as a space wherever a line runs on. "Head of Service" over "Service Manager,
    Safeguarding" are two leads; "Director of Children's" over "Services", or a line ending in
    "and" or ",", or one continuing in lower case, is one lead wrapped at the cell's width.
    Text without a line break comes back with its spaces tidied."""
    text = text or ""
    if "\n" not in text and "\u2028" not in text:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in _LINE_RE.split(text.strip())]
    out: list[str] = []
    for line in lines:
        if not line:
            continue
        if out and _runs_on(out[-1], line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def _runs_on(above: str, line: str) -> bool:
    """Does `line` continue the lead on the line above rather than name another?"""
    if not line[0].isupper() and not line[0].isdigit():
        return True  # "Head of Children's" / "services (interim)"
    if above.endswith((",", "/", "-", "–", "&", "(")) or above.split()[-1].lower() in _RUNS_ON_END:
        return True
    if line.split()[0].lower() in _RUNS_ON_END:
        return True
    return not (_reads_as_lead(above, first=True) and _reads_as_lead(line))


def _reads_as_lead(line: str, *, first: bool = False) -> bool:
    """Can this line stand as a lead by itself: a person's name, a job title, or a role or team of
    two words or more ("Service Manager, Safeguarding", "DCS and AD Early Help")? One word
    below a line ("Services", "MASH") is more likely the end of the title above; one initialism
    on the first line ("DCS") is a role."""
    if len(line.split()) < 2:
        return first and bool(_INITIALISM.match(line))
    return _is_name(line) or _is_title(line) or is_person_or_role(line)


def split_leads(text: str) -> list[str]:
    """The individual people or roles named in a lead cell, in order, without repeats.

    Splits at line breaks between leads (see lead_lines), and on "/" and "," and ";" always; on
    " & ", " and ", " with " only when the pieces on both sides read as people's names (so
    "Head of Safeguarding & Quality Assurance" and "HoS Commissioning and Transformation
    Projects" stay whole). A person with a role after a dash stays one entry: "Tina Smith -
    East Midlands Strategic Commissioning Group"; a job title with its field after a comma
    too: "Service Manager, Safeguarding"."""
    text = lead_lines(text)
    if not text:
        return []
    parts: list[str] = []
    for line in text.split("\n"):
        parts.extend(_split_line(line))
    seen: list[str] = []
    for p in parts:
        if p and p.lower() not in (s.lower() for s in seen):
            seen.append(p)
    return seen


def _split_line(text: str) -> list[str]:
    parts: list[str] = []
    for n, chunk in enumerate(_COMMA.split(text)):
        for k, piece in enumerate(_SLASH.split(chunk)):
            piece = piece.strip(" .-–")
            if not piece:
                continue
            if parts and piece[0].islower() and not _AND.match(" " + piece):
                parts[-1] = f"{parts[-1]}, {piece}"  # "Director, children's services"
                continue
            if parts and _is_field_of(parts[-1], piece, n > 0 and k == 0):
                parts[-1] = f"{parts[-1]}, {piece}"  # "Service Manager, Safeguarding"
                continue
            parts.extend(_split_joined(piece))
    return parts


def _is_field_of(before: str, piece: str, after_comma: bool) -> bool:
    """Is `piece`, after a comma, the field of the job title before it ("Service Manager,
    Safeguarding", "Assistant Director, Children's Services", "Director, Learning and Skills")
    rather than another lead? Only after a job title (a whole one, or a title's one word:
    "Director"), and only a capitalised field of work: one word that is not an initialism
    ("PPU", "DCS" stay leads of their own), or two to four words that are neither a job title,
    an initialism nor a body ("Head of Early Help", "Early Help Partnership" stay leads of their
    own), nor a person's name ("Nina Martin") unless a word of it names a field of work
    ("Practice Development", "Early Help": two capitalised words, but nobody's name)."""
    if not (after_comma and piece[:1].isupper() and (_is_title(before) or before.lower() in _TITLE_END)):
        return False
    words = piece.split()
    if len(words) == 1:
        return not piece.isupper() and not _INITIALISM.match(piece)
    return (
        len(words) <= 4
        and not _is_title(piece)
        and (not _is_name(piece) or any(w.lower() in _FIELD_WORDS for w in words))
        and not any(_INITIALISM.match(w) or w.lower().strip(".,") in _TITLE_END for w in words)
        and words[-1].lower().strip(".,") not in _BODY_END
    )


# Words that name a field of work in a council's services and are not people's names: after a
# job title and its comma, a phrase with one is the title's field even when it reads like a
# name ("Principal Social Worker, Practice Development").
_FIELD_WORDS = frozenset(
    """help development practice workforce learning skills education health inclusion fostering adoption
    offending performance improvement planning placements placement permanence housing disability disabilities
    participation engagement intelligence operations prevention intervention protection parenting residential
    exploitation families business strategy policy""".split()
)


# A lead ending in one of these is a body that can lead an action by itself ("Early Help
# Partnership", "LSCB Sub Group").
_BODY_END = frozenset("team teams board group partnership panel unit trust council directorate forum committee network".split())


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
