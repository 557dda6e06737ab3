"""How a CSV file is written: encoding, delimiter, header row, decimal separator.

Files from spreadsheets and other tools differ: `;` with decimal commas (European locales),
tabs, Latin-1 from old Windows exports, a UTF-8 byte-order mark from Excel, UCI files with
no header at all (whose first row would silently become the column names). Each setting is
sniffed from the first 64 KiB (decompressed) unless the recipe's ``data.csv`` gives it, and
``Dialect.describe`` says what was decided, so a wrong guess is visible in the notes and is
one recipe line to fix.

Heuristics, in order of the evidence they trust:
- encoding: a byte-order mark; else the sample decodes as UTF-8; else Latin-1 (which
  decodes any byte, so a file that is not text at all is refused by its NUL bytes).
- delimiter: the candidate that splits every sampled record into the same number (>= 2)
  of fields; among those, the one giving more fields, except that `;` or tab wins over a
  `,` that only splits decimal commas. Runs of spaces (R's ``write.table``, statsmodels'
  and many UCI files) are the delimiter only when no character delimiter splits the file
  consistently: a comma file with spaces in its cells stays a comma file.
- header: a row-1 cell that is not a number above a column of numbers is a header (a
  number column cannot hold a word in row 1 otherwise); row-1 numbers over numeric columns
  mean no header; for all-text columns, a row-1 value that occurs again below it is data.
- decimal comma: only with `;`, tab or `|` delimiters, when a column's numbers are written
  `1,5` and none `1.5`.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import re
import zipfile
from dataclasses import dataclass

from nncheck.errors import DataError
from nncheck.recipe.schema import CsvOptions

SAMPLE_BYTES = 1 << 16
SAMPLE_RECORDS = 200
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE = " "  # runs of spaces and tabs (read with pandas' sep=r"\s+")
# Cells read as "no value" when deciding what a column holds (data/missing.py has the list
# the tables use; this one only keeps the header vote from counting "NA" as a word).
_BLANKS = {"", "na", "n/a", "nan", "null", "?", "-", "#n/a", "<na>"}
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_COMMA_NUMBER = re.compile(r"^[+-]?\d{1,3}(\.\d{3})*,\d+$|^[+-]?\d+,\d+$")
_DOT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+$")
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "latin-1": "Latin-1",
    "cp1252": "Windows-1252",
}


@dataclass(frozen=True)
class Dialect:
    encoding: str  # a Python codec name: utf-8, utf-8-sig, latin-1, cp1252
    delimiter: str
    header: bool
    decimal: str  # "." or ","
    given: frozenset[str] = frozenset()  # settings the recipe gave (the rest were sniffed)

    def describe(self) -> str:
        """One line for the notes: what was decided and which of it was a guess."""
        delim = {"\t": "tab", ",": "','", ";": "';'", "|": "'|'", WHITESPACE: "whitespace"}[
            self.delimiter
        ]
        parts = [
            f"delimiter {delim}",
            "header row" if self.header else "no header row (columns named col_1, col_2, ...)",
            _ENCODING_NAMES.get(self.encoding, self.encoding),
        ]
        if self.decimal == ",":
            parts.append("decimal comma")
        sniffed = [f for f in ("delimiter", "header", "encoding", "decimal") if f not in self.given]
        how = (
            "sniffed" if len(sniffed) == 4 else f"sniffed: {', '.join(sniffed)}" if sniffed else ""
        )
        return "CSV " + ", ".join(parts) + (f" ({how})" if how else "")

    def with_encoding(self, encoding: str) -> Dialect:
        return Dialect(encoding, self.delimiter, self.header, self.decimal, self.given)


def sniff(path: str, options: CsvOptions | None = None) -> Dialect:
    """The dialect of ``path``: the recipe's settings where given, sniffed elsewhere."""
    options = options or CsvOptions()
    given = frozenset(
        f for f in ("delimiter", "header", "encoding", "decimal") if getattr(options, f) is not None
    )
    raw, truncated = head_bytes(path)
    if b"\0" in raw:
        raise DataError(f"{path}: holds NUL bytes: a binary file, not a text CSV")
    encoding = options.encoding or sniff_encoding(raw, truncated)
    text = raw.decode(encoding, errors="replace")
    if encoding == "utf-8-sig":
        text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    if truncated and lines:
        lines = lines[:-1]  # the last line of a cut sample may be cut too
    sample = "\n".join(lines[: SAMPLE_RECORDS + 1])
    delimiter = options.delimiter or sniff_delimiter(sample)
    records = _records(sample, delimiter)
    header = options.header if options.header is not None else sniff_header(records)
    decimal = options.decimal or sniff_decimal(records[1:] if header else records, delimiter)
    return Dialect(encoding, delimiter, header, decimal, given)


def head_bytes(path: str, size: int = SAMPLE_BYTES) -> tuple[bytes, bool]:
    """The first ``size`` bytes of the file's text (decompressed), and whether it goes on.

    Reading stops at ``size`` decompressed bytes, so a compression bomb costs nothing here.
    A file that cannot be read yields b"" (the reader then reports the real error).
    """
    name = path.lower()
    try:
        if name.endswith(".gz"):
            fh: io.BufferedIOBase | io.IOBase = gzip.open(path, "rb")
        elif name.endswith(".bz2"):
            fh = bz2.open(path, "rb")
        elif name.endswith(".xz"):
            fh = lzma.open(path, "rb")
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                members = archive.namelist()
                if not members:
                    return b"", False
                with archive.open(members[0]) as member:
                    data = member.read(size + 1)
            return data[:size], len(data) > size
        elif name.endswith(".zst"):
            try:
                import zstandard
            except ImportError:
                return b"", False  # the reader names the missing package
            fh = zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True)
        else:
            fh = open(path, "rb")
        with fh:
            data = fh.read(size + 1)
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError, ValueError):
        return b"", False
    return data[:size], len(data) > size


def sniff_encoding(raw: bytes, truncated: bool) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut by the end of the sample is still UTF-8
        if not (truncated and exc.start >= len(raw) - 3 and exc.reason == "unexpected end of data"):
            return "latin-1"
    return "utf-8"


def _records(sample: str, delimiter: str) -> list[list[str]]:
    if delimiter == WHITESPACE:  # runs of spaces or tabs, quotes respected; no empty fields
        sample = sample.replace("\t", " ")
    try:
        rows = list(csv.reader(io.StringIO(sample), delimiter=delimiter, skipinitialspace=True))
    except csv.Error:
        return []
    if delimiter == WHITESPACE:
        rows = [[c for c in r if c != ""] for r in rows]
    return [[c.strip() for c in r] for r in rows if r and any(c.strip() for c in r)]


def sniff_delimiter(sample: str) -> str:
    best, consistent = _best_delimiter(sample, DELIMITERS)
    if not consistent:
        spaces, spaces_consistent = _best_delimiter(sample, (WHITESPACE,))
        if spaces_consistent:
            return spaces
    return best or ","


def _best_delimiter(sample: str, candidates: tuple[str, ...]) -> tuple[str | None, bool]:
    """The candidate splitting the sample most consistently into >= 2 fields, and
    whether it splits 90% of the records alike (a ragged file gets its best guess)."""
    scores: dict[str, tuple[float, int]] = {}
    for delim in candidates:
        records = _records(sample, delim)
        if not records:
            continue
        counts = [len(r) for r in records]
        mode = max(set(counts), key=lambda c: (counts.count(c), c))
        if mode < 2:
            continue
        scores[delim] = (counts.count(mode) / len(counts), mode)
    consistent = {d: s for d, s in scores.items() if s[0] >= 0.9}
    pool = consistent or scores
    if not pool:
        return None, False
    best = max(pool, key=lambda d: (pool[d][1], -candidates.index(d)))
    if best == ",":
        for other in ("\t", ";", "|"):
            if other in consistent and sniff_decimal(_records(sample, other), other) == ",":
                return other, True
    return best, bool(consistent)


def _is_number(cell: str) -> bool:
    return bool(_NUMBER.match(cell)) or cell.lower() in {"inf", "-inf", "+inf"}


def sniff_header(records: list[list[str]]) -> bool:
    if len(records) < 2:
        return True  # one row is a header with no data (the reader then says so)
    first, body = records[0], records[1:]
    width = len(first)
    columns = [
        [r[j] for r in body if j < len(r) and r[j].lower() not in _BLANKS] for j in range(width)
    ]
    numeric_columns = 0
    for j, cells in enumerate(columns):
        top = first[j]
        if not cells:
            continue
        numbers = sum(1 for c in cells if _is_number(c) or _COMMA_NUMBER.match(c))
        if numbers >= 0.9 * len(cells):
            numeric_columns += 1
            if top.lower() not in _BLANKS and not (_is_number(top) or _COMMA_NUMBER.match(top)):
                return True  # a word above a column of numbers
    if numeric_columns:
        # Row 1 holds numbers (or blanks) over every numeric column: data, unless the names
        # are the column positions themselves (0..k-1, 1..k), as numpy exports write them.
        values = [c for c in first if _is_number(c)]
        if len(values) == width:
            nums = [float(c) for c in values]
            start = nums[0]
            return start in (0.0, 1.0) and nums == [start + i for i in range(width)]
        return False
    # All text: a row-1 value that occurs again in its column is a value, not a name.
    return not any(first[j] in set(cells) for j, cells in enumerate(columns) if j < width)


def sniff_decimal(records: list[list[str]], delimiter: str) -> str:
    if delimiter == "," or not records:
        return "."
    width = max(len(r) for r in records)
    for j in range(width):
        cells = [r[j] for r in records if j < len(r) and r[j].lower() not in _BLANKS]
        if not cells:
            continue
        comma = sum(1 for c in cells if _COMMA_NUMBER.match(c))
        dot = sum(1 for c in cells if _DOT_DECIMAL.match(c))
        plain = sum(1 for c in cells if re.match(r"^[+-]?\d+$", c))
        if comma and not dot and comma + plain >= 0.9 * len(cells):
            return ","
    return "."


def line_of_row(path: str, row: int, dialect: Dialect) -> int:
    """1-based file line of data row ``row``, skipping blank lines and following quoted
    multi-line cells as pandas does. Only run on error paths; plain files only (for a
    compressed one, the line it would be without blank lines or multi-line cells)."""
    first = 1 if dialect.header else 0
    fallback = row + 1 + first
    if not path.lower().endswith((".csv", ".tsv", ".txt")):
        return fallback
    try:
        with open(path, newline="", encoding=dialect.encoding) as fh:
            reader = csv.reader(fh, delimiter=dialect.delimiter[0], skipinitialspace=True)
            prev_end = 0
            record = -first  # -1 = the header
            for fields in reader:
                start = prev_end + 1
                prev_end = reader.line_num
                if not fields or (len(fields) == 1 and not fields[0].strip()):
                    continue
                if record == row:
                    return start
                record += 1
    except (OSError, UnicodeDecodeError, csv.Error):
        pass
    return fallback
