"""Step 1 of an import: any file format -> a neutral stream of blocks, in document order.

A block is a paragraph (one text), the start of a table (its width), or a table row (a list of
cell strings, already cleaned of inline HTML, Markdown bold and stray whitespace). A line break
inside a cell (a Word cell's second paragraph or <w:br/>, an Excel cell's "\n", "<br>" in a text or
Markdown copy) is kept as BREAK between the cell's cleaned lines, so the lead splitter can tell
"Head of Service" from "Service Manager" on the next line; the assembler reads every other field
with the break as a space, exactly as if it had never been kept. Spreadsheets
and CSV files have no paragraphs: their single-cell rows play that part, and the later steps treat
them alike. Every block says where it came from ("table 3, row 2", "sheet 'Plan', row 40",
"line 12") so a warning can point at it.

The checks that refuse a file outright (too big, empty, damaged, encrypted, macro-enabled, a
zip that would inflate too far, undecodable text) live here too and raise PlanFileError before
any parser touches the content.
"""

from __future__ import annotations

import codecs
import csv
import datetime as _dt
import html
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.importer.parsed import PlanFileError

MAX_FILE_BYTES = 10 * 1024 * 1024  # an upload bigger than this is refused unread
MAX_UNZIPPED_BYTES = 100 * 1024 * 1024  # declared size of everything inside a .xlsx/.docx
MAX_ZIP_RATIO = 100  # declared size / compressed size of one member bigger than 1 MB

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_ENCRYPTED_MARKERS = ("EncryptedPackage".encode("utf-16-le"), "EncryptionInfo".encode("utf-16-le"))

SPREADSHEET_EXTS = {".xlsx", ".xltx"}
WORD_EXTS = {".docx", ".dotx"}
CSV_EXTS = {".csv"}
TEXT_EXTS = {".txt", ".md", ".markdown", ".text", ".tsv"}
MACRO_EXTS = {".xlsm", ".xltm", ".xlam", ".docm", ".dotm"}
OLD_OFFICE_EXTS = {".xls": "Excel 97-2003 (.xls)", ".doc": "Word 97-2003 (.doc)"}
SUPPORTED = ".xlsx, .docx, .csv, .txt or .md"


@dataclass(slots=True)
class Block:
    kind: str  # "para", "table" (a new table starts; `width` columns) or "row"
    cells: list[str]  # para: [text]; row: the cells; table: []
    where: str
    width: int | None = None
    raw: list[str] | None = None  # a row with line breaks kept (BREAK); `cells` then has them as spaces


@dataclass
class Source:
    blocks: Iterator[Block]
    kind: str  # "xlsx", "docx", "csv", "text"
    encoding: str = ""
    warnings: list[str] | None = None


# --------------------------------------------------------------------------------------------
# cleaning cell text (called for every cell: cheap checks first, regexes only when needed)

_TAG_RE = re.compile(r"<\s*/?\s*[a-zA-Z][^<>]{0,200}>")
_ORDINAL_RE = re.compile(r"\b(\d{1,2}) (st|nd|rd|th)\b")
_MD_HEADING_RE = re.compile(r"^#{1,6}\s+")
# A word broken at a line end by a hyphen, as PDF conversion leaves it: "back- log" -> "backlog"
# (not "pre- and post-inspection", nor "self- or peer-review").
_LINE_HYPHEN_RE = re.compile(r"\b([a-z]{2,})- (?!(?:and|or|to|nor|as|then)\b)([a-z]{2,})\b")


# The line-break marker inside a cell's text: Unicode's LINE SEPARATOR, which str.split(), strip()
# and regex \s all treat as whitespace, so code that flattens text flattens it too.
BREAK = "\u2028"
_LINE_BREAK_RE = re.compile(r"<\s*br\s*/?\s*>|<\s*/\s*p\s*>\s*<\s*p\b[^<>]{0,200}>|\r\n?|\n|\u2028", re.I)


def clean(text: str, _one_line: bool = False) -> str:
    """Cell text without inline HTML (<b>, <i>, <sup>, &amp;), Markdown bold markers or runs of
    whitespace; "2 <sup>nd</sup>" and "2 nd" both become "2nd". Line breaks ("\n", "<br>",
    "</p><p>") are kept as one BREAK between the cleaned lines, unless cleaning joined something
    across them (a hyphenated word, a table border): then the cell is one line, as it always was.
    Either way `text.replace(BREAK, " ")` is the flat text."""
    if not text:
        return ""
    if not _one_line and ("\n" in text or "\r" in text or BREAK in text or ("<" in text and _LINE_BREAK_RE.search(text))):
        return _clean_lines(text)
    if "<" in text:
        text = _TAG_RE.sub(" ", text)
    if "&" in text and ";" in text:
        text = html.unescape(text)
    if "**" in text:
        text = text.replace("**", "")
    text = " ".join(text.split())
    if "- " in text:
        text = _LINE_HYPHEN_RE.sub(r"\1\2", text)
    if "|" in text:
        text = text.strip(" |")  # a table border left behind by a conversion
    if " st" in text or " nd" in text or " rd" in text or " th" in text:
        text = _ORDINAL_RE.sub(r"\1\2", text)
    return text


def _clean_lines(text: str) -> str:
    flat = clean(text, True)
    lines = [line for line in (clean(part, True) for part in _LINE_BREAK_RE.split(text)) if line]
    if len(lines) < 2 or " ".join(lines) != flat:
        return flat
    return BREAK.join(lines)


def unquote_formula(text: str) -> str:
    """"'=SUM(A1)" -> "=SUM(A1)": the apostrophe spreadsheet exports put before text that would
    otherwise run as a formula (ours included) is not part of the text."""
    if len(text) > 1 and text[0] == "'" and text[1] in "=+-@":
        return text[1:]
    return text


def _cell_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return unquote_formula(clean(value))
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, _dt.datetime):
        return value.date().isoformat() if value.time() == _dt.time() else value.isoformat(sep=" ")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------
# refusing files


def check_file(path: Path) -> tuple[str, bytes]:
    """The file's lower-case extension and its first bytes, after the checks every upload gets."""
    ext = path.suffix.lower()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise PlanFileError(f"cannot open {path.name}: {exc.strerror or exc}") from None
    if ext in MACRO_EXTS:
        raise PlanFileError(
            f"{path.name} is a macro-enabled Office file ({ext}). Macros can run code, so we do not open "
            "these files. In Excel or Word use File > Save As and choose the ordinary .xlsx or .docx type, "
            "then upload that copy."
        )
    if ext in OLD_OFFICE_EXTS:
        new = ".xlsx" if ext == ".xls" else ".docx"
        raise PlanFileError(
            f"{path.name} is in the old {OLD_OFFICE_EXTS[ext]} format, which we cannot read. Open it and "
            f"use File > Save As to save it as {new}, then upload that copy."
        )
    if ext not in SPREADSHEET_EXTS | WORD_EXTS | CSV_EXTS | TEXT_EXTS:
        shown = ext or "(no extension)"
        raise PlanFileError(f"{path.name}: files of type {shown} cannot be imported; upload {SUPPORTED}.")
    if size == 0:
        raise PlanFileError(f"{path.name} is empty (0 bytes).")
    if size > MAX_FILE_BYTES:
        raise PlanFileError(
            f"{path.name} is {size / 1024 / 1024:.1f} MB; the limit is {MAX_FILE_BYTES // 1024 // 1024} MB. "
            "Remove pictures or unused sheets, or split the plan, and try again."
        )
    with path.open("rb") as fh:
        head = fh.read(8)
    return ext, head


def _refuse_ole(path: Path, expected: str) -> None:
    data = path.read_bytes()
    if any(marker in data for marker in _ENCRYPTED_MARKERS):
        raise PlanFileError(
            f"{path.name} is password-protected (encrypted), so it cannot be read. Open it, remove the "
            "password (File > Info > Protect > Encrypt with Password, clear the box), save and upload it again."
        )
    raise PlanFileError(
        f"{path.name} is not a real {expected} file: it is in the old Office 97-2003 format with a new name. "
        f"Open it and use File > Save As to save it as {expected}."
    )


def _check_zip(path: Path, head: bytes, expected: str, main_part: str, vba_part: str) -> None:
    if head.startswith(_OLE_MAGIC):
        _refuse_ole(path, expected)
    if not head.startswith(_ZIP_MAGIC):
        raise PlanFileError(f"{path.name} is not a valid {expected} file: it may be damaged, or another kind of file renamed.")
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PlanFileError(f"{path.name} is damaged and cannot be opened as {expected} ({exc}).") from None
    total = 0
    names = set()
    for info in infos:
        names.add(info.filename)
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise PlanFileError(
                f"{path.name} looks like a zip bomb: '{info.filename}' inside it would inflate from "
                f"{info.compress_size / 1024 / 1024:.2f} MB to {info.file_size / 1024 / 1024:.0f} MB "
                f"(more than {MAX_ZIP_RATIO} times). Not opened."
            )
    if total > MAX_UNZIPPED_BYTES:
        raise PlanFileError(
            f"{path.name} would unpack to {total / 1024 / 1024:.0f} MB, over the "
            f"{MAX_UNZIPPED_BYTES // 1024 // 1024} MB limit. Not opened."
        )
    if vba_part in names:
        raise PlanFileError(
            f"{path.name} contains macros (it is really a macro-enabled file). Macros can run code, so we do "
            f"not open it. Use File > Save As and choose the ordinary {expected} type, then upload that copy."
        )
    if main_part not in names:
        raise PlanFileError(f"{path.name} is not a valid {expected} file (no {main_part} inside): it may be another kind of file renamed.")


# --------------------------------------------------------------------------------------------
# Excel


_MERGE_RE = re.compile(rb'<mergeCell ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _vertical_merges(archive: zipfile.ZipFile, sheet_path: str) -> dict[int, list[tuple[int, int]]]:
    """row number -> [(column index, anchor row)] for cells covered by a merge spanning rows, so
    a lead or ref merged down over several action rows reaches every row. Cheap: a byte search
    of the sheet's XML, regex only when merges exist."""
    try:
        data = archive.read(sheet_path)
    except KeyError:
        return {}
    if b"<mergeCell " not in data:
        return {}
    fills: dict[int, list[tuple[int, int]]] = {}
    for m in _MERGE_RE.finditer(data):
        top, bottom = int(m[2]), int(m[4])
        if bottom <= top:
            continue
        col = _col_index(m[1])
        for row in range(top + 1, bottom + 1):
            fills.setdefault(row, []).append((col, top))
    return fills


def read_xlsx(path: Path, head: bytes) -> Source:
    _check_zip(path, head, ".xlsx", "xl/workbook.xml", "xl/vbaProject.bin")
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise PlanFileError(f"{path.name} is damaged or not a real Excel workbook and cannot be read ({type(exc).__name__}: {exc}).") from None
    warnings: list[str] = []
    return Source(_xlsx_blocks(wb, path, warnings), "xlsx", warnings=warnings)


def _xlsx_blocks(wb, path: Path, warnings: list[str]) -> Iterator[Block]:
    try:
        for ws in wb.worksheets:
            if getattr(ws, "sheet_state", "visible") != "visible":
                warnings.append(f"sheet '{ws.title}' is hidden; it was not read.")
                continue
            fills = _vertical_merges(wb._archive, ws._worksheet_path)
            anchors = {anchor for cells in fills.values() for _, anchor in cells}
            kept: dict[tuple[int, int], str] = {}
            ws.reset_dimensions()  # do not trust a stale <dimension>: read every row present
            label = f"sheet '{ws.title}'"
            yield Block("table", [], label, None)
            for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if not values:
                    continue
                cells = [_cell_value(v) for v in values]
                if fills:
                    if number in anchors:
                        for col, value in enumerate(cells):
                            kept[(number, col)] = value
                    for col, anchor in fills.get(number, ()):
                        while len(cells) <= col:
                            cells.append("")
                        if not cells[col]:
                            cells[col] = kept.get((anchor, col), "")
                yield Block("row", cells, f"{label}, row {number}")
    except PlanFileError:
        raise
    except Exception as exc:
        raise PlanFileError(f"{path.name} is damaged and could not be read to the end ({type(exc).__name__}: {exc}).") from None
    finally:
        wb.close()


# --------------------------------------------------------------------------------------------
# Word


def read_docx(path: Path, head: bytes) -> Source:
    _check_zip(path, head, ".docx", "word/document.xml", "word/vbaProject.bin")
    import docx

    try:
        document = docx.Document(str(path))
    except Exception as exc:
        raise PlanFileError(f"{path.name} is damaged or not a real Word document and cannot be read ({type(exc).__name__}: {exc}).") from None
    return Source(_docx_blocks(document, path), "docx", warnings=[])


def _docx_blocks(document, path: Path) -> Iterator[Block]:
    from docx.oxml.ns import qn

    from bot.importer.wordtext import Numbering, paragraph_text

    p_tag, tbl_tag, sdt_tag = qn("w:p"), qn("w:tbl"), qn("w:sdt")
    counters = {"para": 0, "table": 0}
    numbering = Numbering(document)

    def para(p, br: str = " ") -> str:
        label = numbering.label(p)
        text = paragraph_text(p, br)
        return f"{label} {text}" if label else text

    def cell_text(tc) -> str:  # a cell's paragraphs and <w:br/>s are its lines
        return clean("\n".join(para(p, "\n") for p in tc.iter(p_tag)))

    def walk(parent) -> Iterator[Block]:
        for el in parent.iterchildren():
            if el.tag == p_tag:
                text = clean(para(el))
                if text:
                    counters["para"] += 1
                    yield Block("para", [text], f"paragraph {counters['para']}")
            elif el.tag == tbl_tag:
                counters["table"] += 1
                yield from table(el, counters["table"])
            elif el.tag == sdt_tag:  # content control wrapping paragraphs/tables
                content = el.find(qn("w:sdtContent"))
                if content is not None:
                    yield from walk(content)

    def table(tbl, number: int) -> Iterator[Block]:
        grid = tbl.find(qn("w:tblGrid"))
        width = len(grid.findall(qn("w:gridCol"))) if grid is not None else None
        yield Block("table", [], f"table {number}", width)
        above: dict[int, str] = {}
        for r, tr in enumerate(tbl.tr_lst, start=1):
            cells: list[str] = [""] * (tr.grid_before or 0)
            for tc in tr.tc_lst:
                col = len(cells)
                if tc.vMerge == "continue":
                    text = above.get(col, "")  # merged down from the cell above
                else:
                    text = cell_text(tc)
                cells.append(text)
                cells.extend([""] * (tc.grid_span - 1))  # merged across: one value, not repeated
            for col, text in enumerate(cells):
                above[col] = text
            yield Block("row", cells, f"table {number}, row {r}")

    try:
        yield from walk(document.element.body)
    except PlanFileError:
        raise
    except Exception as exc:
        raise PlanFileError(f"{path.name} is damaged and could not be read to the end ({type(exc).__name__}: {exc}).") from None


# --------------------------------------------------------------------------------------------
# text: decoding, CSV, tab-separated / Markdown


def decode_text(data: bytes, name: str) -> tuple[str, str, list[str]]:
    """The text, the encoding used and any warning. UTF-8 (with or without BOM), UTF-16 with a
    BOM, else Windows-1252 (what Excel's "CSV" and Notepad write on UK Windows), else refuse."""
    warnings: list[str] = []
    if data.startswith(_ZIP_MAGIC):
        raise PlanFileError(f"{name} is really a Word or Excel file (a zip), not text: save it with its .docx or .xlsx name and upload that.")
    if data.startswith(_OLE_MAGIC):
        raise PlanFileError(f"{name} is really an Office 97-2003 or encrypted Office file, not text: save it as .xlsx or .docx and upload that.")
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[3:].decode("utf-8"), "utf-8-sig", warnings
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16", warnings
    except UnicodeDecodeError as exc:
        raise PlanFileError(f"{name} says it is Unicode text but is not valid ({exc.reason} at byte {exc.start}).") from None
    if b"\x00" in data[:4096]:
        raise PlanFileError(f"{name} is not a text file (it contains binary data). Upload {SUPPORTED}.")
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError as exc:
            raise PlanFileError(
                f"{name} could not be read as text: it is neither UTF-8 nor Windows-1252 (byte {exc.start}). "
                "Save it again as 'CSV UTF-8' or 'Unicode text' and upload that."
            ) from None
        warnings.append(f"{name} is not UTF-8; it was read as Windows-1252 (cp1252). Check that £, – and quotes look right.")
    if "â€" in text or "Ã" in text:
        try:
            repaired = text.encode("cp1252").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
        else:
            warnings.append(f"{name} had garbled characters (UTF-8 read as Windows-1252 and saved again, e.g. 'â€“'); they were repaired.")
            text = repaired
    return text, encoding, warnings


def read_csv_text(text: str, name: str) -> Iterator[Block]:
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        delimiter = dialect.delimiter
    except csv.Error:  # ragged rows (title lines above the table): the commonest separator
        delimiter = max(",;\t|", key=sample.count)
    if csv.field_size_limit() < MAX_FILE_BYTES:
        csv.field_size_limit(MAX_FILE_BYTES)  # a long progress cell is not an error
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    yield Block("table", [], name, None)
    try:
        for row in reader:
            if row:
                yield Block("row", [unquote_formula(clean(c)) for c in row], f"line {reader.line_num}")
    except csv.Error as exc:
        raise PlanFileError(f"{name} is not a well-formed CSV file (line {reader.line_num}: {exc}).") from None


_PIPE_SEPARATOR_RE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_PIPE_SPLIT_RE = re.compile(r"(?<!\\)\|")


def _row_cells(line: str) -> list[str] | None:
    if "\t" in line:
        return [clean(c) for c in line.split("\t")]
    stripped = line.strip()
    if stripped.startswith("|") and stripped.count("|") >= 2:
        inner = stripped[1:-1] if stripped.endswith("|") else stripped[1:]
        return [clean(c.replace("\\|", "|")) for c in _PIPE_SPLIT_RE.split(inner)]
    return None


def read_text_blocks(text: str) -> Iterator[Block]:
    """Tab-separated tables (as extracted from Word/PDF, or pasted from Excel) or Markdown pipe
    tables, with paragraphs between them. A blank line ends a table; a line without tabs inside
    a table is a one-cell row of it."""
    lines = text.splitlines()
    table: list[tuple[int, list[str]]] = []
    tables = 0

    def flush() -> Iterator[Block]:
        nonlocal tables
        if table:
            tables += 1
            width = max(len(cells) for _, cells in table)
            yield Block("table", [], f"table {tables} (line {table[0][0]})", width)
            for number, cells in table:
                yield Block("row", cells, f"line {number}")
            table.clear()

    for number, line in enumerate(lines, start=1):
        if not line.strip():
            yield from flush()
            continue
        if _PIPE_SEPARATOR_RE.match(line) and "-" in line:
            continue
        cells = _row_cells(line)
        if cells is None and table:
            cells = [clean(line)]
        if cells is not None:
            table.append((number, cells))
            continue
        text_line = clean(_MD_HEADING_RE.sub("", line))
        if text_line:
            yield Block("para", [text_line], f"line {number}")
    yield from flush()
