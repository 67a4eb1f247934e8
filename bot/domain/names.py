"""Names are not identities: how two names are compared, and when they are near-twins.

People differ by id. A name is only a way to find someone, and two names that differ only in
case, spacing, punctuation, invisible characters (zero-width spaces, direction marks) or
compatibility forms (full-width letters) are the same name to a reader — so they are treated as
the same key: a lookup by such a name that finds several people is refused, and adding a person
whose name has the key of someone already there needs saying so.
"""

from __future__ import annotations

import unicodedata


def name_key(name: str) -> str:
    """The form two names are compared in: "PRIYA  SHAH", "priya shah" and "Priya-Shah" share one."""
    folded = unicodedata.normalize("NFKC", name).casefold()
    key = "".join(ch for ch in folded if ch.isalnum())
    return key or "".join(ch for ch in folded if not ch.isspace() and unicodedata.category(ch) != "Cf")
