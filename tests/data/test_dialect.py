"""CSV dialects: encoding, delimiter, header row and decimal comma, sniffed or given."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from nncheck.data.dialect import line_of_row, sniff
from nncheck.data.loaders import load_source
from nncheck.errors import DataError
from nncheck.recipe.schema import CsvOptions
from tests import table_files


def test_semicolons_decimal_commas_and_latin1(tmp_path):
    path = table_files.european(tmp_path / "de.csv")
    d = sniff(str(path))
    assert (d.delimiter, d.header, d.encoding, d.decimal) == (";", True, "latin-1", ",")
    assert d.describe() == "CSV delimiter ';', header row, Latin-1, decimal comma (sniffed)"
    raw = load_source(str(path))
    assert raw.feature_names == ("Stadt", "Größe", "Einkommen") and raw.target == "Klasse"
    assert set(raw.table.column("Stadt").text) == {"Zürich", "Genève", "Köln"}
    money = raw.table.column("Einkommen").number
    text = path.read_bytes().decode("latin-1").splitlines()[1].split(";")[2]  # e.g. 4.512,30
    assert money[0] == pytest.approx(float(text.replace(".", "").replace(",", ".")))
    assert 2000 < np.median(money) < 7000  # thousands dots were not decimal points


def test_headerless_file_keeps_its_first_row(tmp_path):
    path = table_files.adult_headerless(tmp_path / "adult.data", n=50)
    path = path.rename(tmp_path / "adult.csv")
    d = sniff(str(path))
    assert not d.header and d.delimiter == ","
    raw = load_source(str(path))
    assert len(raw) == 50  # the first line is a row, not the column names
    assert raw.feature_names[:2] == ("col_1", "col_2") and raw.target == "col_7"
    first = path.read_text().splitlines()[0].split(", ")
    assert raw.table.column("col_1").number[0] == float(first[0])
    assert "no header row (columns named col_1, col_2, ...)" in raw.notes[0]


def test_whitespace_delimited_with_single_quoted_names(tmp_path):
    # statsmodels' spector.csv and R's write.table: runs of spaces, names in single quotes
    path = tmp_path / "spector.csv"
    lines = ["'OBS' 'GPA' 'TUCE' 'PSI' 'GRADE'"]
    lines += [
        f"{i + 1}  {2 + (i % 7) / 5:.2f} {20 + i % 9}  {i % 2} {i % 3 == 0:d}" for i in range(32)
    ]
    path.write_text("\n".join(lines) + "\n")
    d = sniff(str(path))
    assert (d.delimiter, d.header) == (" ", True)
    assert d.describe().startswith("CSV delimiter whitespace, header row")
    raw = load_source(str(path), "GRADE")
    assert raw.feature_names == ("OBS", "GPA", "TUCE", "PSI") and len(raw) == 32
    assert raw.table.column("TUCE").number[:3].tolist() == [20, 21, 22]


def test_spaces_inside_a_comma_file_do_not_make_it_whitespace_delimited(tmp_path):
    path = tmp_path / "cities.csv"
    rows = ["city,population,label"] + [f"New York {i},{1000 + i},{i % 2}" for i in range(30)]
    path.write_text("\n".join(rows) + "\n")
    assert sniff(str(path)).delimiter == ","
    assert load_source(str(path)).table.column("city").text[0] == "New York 0"


def test_header_votes():
    from nncheck.data.dialect import sniff_header

    rows = [["a", "b"], ["1", "2"], ["3", "4"]]
    assert sniff_header(rows)  # words over numbers
    assert not sniff_header([["5", "x"], ["1", "y"], ["3", "x"]])  # numbers over numbers
    assert sniff_header([["0", "1", "2"], ["5", "6", "7"], ["8", "9", "1"]])  # positions
    assert sniff_header([["colour", "size"], ["red", "S"], ["blue", "M"]])
    assert not sniff_header([["red", "S"], ["blue", "M"], ["red", "L"]])  # a value again
    assert sniff_header([["", "x"], ["1", "2"], ["2", "3"]])  # R's empty row-name header


def test_tab_bom_and_gzip(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffname\tvalue\tlabel\na\t1,5\t0\nb\t2,5\t1\n".encode())
    d = sniff(str(path))
    assert (d.delimiter, d.encoding, d.decimal) == ("\t", "utf-8-sig", ",")
    raw = load_source(str(path))
    assert raw.feature_names == ("name", "value")  # no BOM glued to the first name
    assert raw.table.column("value").number.tolist() == [1.5, 2.5]
    gz = tmp_path / "t.csv.gz"
    gz.write_bytes(gzip.compress(b"x;y;label\n1;2;0\n3;4;1\n"))
    assert sniff(str(gz)).delimiter == ";"
    assert load_source(str(gz)).feature_names == ("x", "y")


def test_recipe_settings_win_over_the_sniffer(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,0\n3,4,1\n")
    d = sniff(str(path), CsvOptions(header=False))
    assert not d.header and d.given == frozenset({"header"})
    assert d.describe().endswith("(sniffed: delimiter, encoding, decimal)")
    raw = load_source(str(path), csv=CsvOptions(header=False))
    assert len(raw) == 3 and raw.table.column("col_1").text[0] == "a"


def test_utf8_past_the_sample_falls_back_to_latin1(tmp_path):
    path = tmp_path / "late.csv"
    body = b"".join(b"%d,red,%d\n" % (i, i % 2) for i in range(12000))  # > 64 KiB
    path.write_bytes(b"x,colour,label\n" + body + b"7,gr\xfcn,1\n")
    raw = load_source(str(path))
    assert raw.table.column("colour").text[-1] == "grün"
    assert any("read as Latin-1" in n for n in raw.notes)


def test_binary_file_is_refused(tmp_path):
    path = tmp_path / "img.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DataError, match=r"img\.csv: holds NUL bytes"):
        load_source(str(path))


def test_line_of_row_follows_blank_lines_and_quoted_newlines(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text('a;note;label\n1;"two\nlines";0\n\n2;x;1\n')
    d = sniff(str(path))
    assert d.delimiter == ";"
    assert line_of_row(str(path), 0, d) == 2 and line_of_row(str(path), 1, d) == 5
