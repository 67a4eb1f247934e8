"""The text of a Word paragraph as a reader sees it on the page.

python-docx's `Paragraph.text` leaves out two things plans rely on: text inside tracked
insertions (`w:ins`), and the numbers and bullets Word draws itself ("1." before a heading,
"1.1" in a ref column, "•" before an Ofsted finding), which are not in the text at all but come
from the numbering definitions. This module supplies both.
"""

from __future__ import annotations

from docx.oxml.ns import qn

_T, _TAB, _BR, _CR = qn("w:t"), qn("w:tab"), qn("w:br"), qn("w:cr")
_PPR, _NUMPR, _NUMID, _ILVL, _PSTYLE = qn("w:pPr"), qn("w:numPr"), qn("w:numId"), qn("w:ilvl"), qn("w:pStyle")
_VAL = qn("w:val")
_MOVE_FROM, _TABS = qn("w:moveFrom"), qn("w:tabs")


def paragraph_text(p, br: str = " ") -> str:
    """Every w:t of the paragraph in order (tracked insertions included, deletions are
    w:delText and so left out; text moved with track changes on is read where it went, w:moveTo,
    not also where it came from, w:moveFrom); tabs as spaces, line breaks (w:br, w:cr) as `br`
    (a space in a body paragraph; a new line in a table cell, where it can separate two leads)."""
    parts: list[str] = []
    for node in p.iter(_T, _TAB, _BR, _CR):
        parent = node.getparent()
        if parent is None:
            continue
        run_holder = parent.getparent()  # w:r's parent: the paragraph, a hyperlink, w:ins, w:moveFrom…
        if run_holder is not None and (run_holder.tag == _MOVE_FROM or (
            run_holder.getparent() is not None and run_holder.getparent().tag == _MOVE_FROM
        )):
            continue
        if node.tag == _T:
            parts.append(node.text or "")
        elif node.tag != _TAB:
            parts.append(br)
        elif parent.tag != _TABS:
            parts.append(" ")
    return "".join(parts)


def _roman(n: int) -> str:
    out = ""
    for value, letters in ((1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
                           (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")):  # fmt: skip
        while n >= value:
            out += letters
            n -= value
    return out


def _fmt(n: int, kind: str) -> str:
    if kind == "lowerLetter":
        return chr(96 + (n - 1) % 26 + 1)
    if kind == "upperLetter":
        return chr(64 + (n - 1) % 26 + 1)
    if kind == "lowerRoman":
        return _roman(n)
    if kind == "upperRoman":
        return _roman(n).upper()
    return str(n)


class Numbering:
    """Renders Word's automatic list numbers, counting as the document is read in order."""

    def __init__(self, document) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}  # numId -> ilvl -> (fmt, lvlText, start)
        self.style_num: dict[str, tuple[str, int]] = {}  # styleId -> (numId, ilvl)
        self.counters: dict[str, list[int]] = {}
        try:
            numbering = document.part.numbering_part.element
        except (NotImplementedError, KeyError, AttributeError):
            numbering = None
        if numbering is not None:
            abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
            for a in numbering.iterchildren(qn("w:abstractNum")):
                levels = {}
                for lvl in a.iterchildren(qn("w:lvl")):
                    fmt = lvl.find(qn("w:numFmt"))
                    text = lvl.find(qn("w:lvlText"))
                    start = lvl.find(qn("w:start"))
                    levels[int(lvl.get(qn("w:ilvl"), "0"))] = (
                        fmt.get(_VAL, "decimal") if fmt is not None else "decimal",
                        text.get(_VAL, "") if text is not None else "",
                        int(start.get(_VAL, "1")) if start is not None else 1,
                    )
                abstract[a.get(qn("w:abstractNumId"), "")] = levels
            for num in numbering.iterchildren(qn("w:num")):
                ref = num.find(qn("w:abstractNumId"))
                if ref is not None:
                    self.levels[num.get(qn("w:numId"), "")] = abstract.get(ref.get(_VAL, ""), {})
        try:
            styles = document.styles.element
        except (NotImplementedError, KeyError, AttributeError):
            styles = None
        if styles is not None:
            for style in styles.iterchildren(qn("w:style")):
                ppr = style.find(_PPR)
                numpr = ppr.find(_NUMPR) if ppr is not None else None
                if numpr is not None:
                    num_id = numpr.find(_NUMID)
                    ilvl = numpr.find(_ILVL)
                    if num_id is not None:
                        self.style_num[style.get(qn("w:styleId"), "")] = (
                            num_id.get(_VAL, ""), int(ilvl.get(_VAL, "0")) if ilvl is not None else 0
                        )

    def label(self, p) -> str:
        """The number or bullet Word shows before this paragraph ("1.", "2.3", "-"), or ""."""
        if not self.levels:
            return ""
        ppr = p.find(_PPR)
        if ppr is None:
            return ""
        numpr = ppr.find(_NUMPR)
        found: tuple[str, int] | None = None
        if numpr is not None:
            num_id = numpr.find(_NUMID)
            ilvl = numpr.find(_ILVL)
            if num_id is not None:
                found = (num_id.get(_VAL, ""), int(ilvl.get(_VAL, "0")) if ilvl is not None else 0)
        else:
            style = ppr.find(_PSTYLE)
            if style is not None:
                found = self.style_num.get(style.get(_VAL, ""))
        if not found or found[0] in ("", "0"):
            return ""
        num_id, ilvl = found
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        fmt, text, _ = levels[ilvl]
        if fmt == "bullet":
            return "-"
        if fmt == "none" or not text:
            return ""
        counters = self.counters.setdefault(num_id, [0] * 9)
        if counters[ilvl] == 0:
            counters[ilvl] = levels[ilvl][2]
        else:
            counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0
        for level in range(9):
            if f"%{level + 1}" in text:
                value = counters[level] or (levels.get(level, ("decimal", "", 1))[2])
                text = text.replace(f"%{level + 1}", _fmt(value, levels.get(level, ("decimal",))[0]))
        return text
