"""The CSV reader every import uses: header checks, physical line numbers, bad rows, bad bytes."""

from __future__ import annotations

import re

import pytest

from mutualaid.csvfiles import RowProblems, first_undecodable_line, open_csv, read_columns, read_records
from mutualaid.errors import ImportRowsError, ValidationError


def read(path, required=("a", "b"), optional=("c",), **kwargs):
    with open_csv(path, required, optional, **kwargs) as source:
        return source.header, list(source.rows())


def test_rows_carry_the_physical_line_they_start_on(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes('\ufeff a ,b\n1,"two\nlines"\n\n,\n3,4,5\n'.encode())
    header, rows = read(path)
    assert header == ["a", "b"]
    assert rows == [(2, ["1", "two\nlines"]), (5, ["", ""]), (6, ["3", "4", "5"])]


def test_a_row_of_too_many_cells_is_worded_for_the_importer(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,2\n1,2,x,\n", encoding="utf-8")
    with open_csv(path, ("a", "b")) as source:
        cells = [cells for _, cells in source.rows()]
        assert source.too_many_cells(cells[0]) is None
        assert source.too_many_cells(cells[1]) == (
            "the row has 4 cells but the header has 2 (extra: 'x', ''); quote a cell that holds a comma"
        )
        assert source.line == 3


@pytest.mark.parametrize(
    ("header", "kwargs", "problems"),
    [
        pytest.param(
            "b,d,d,b",
            {},
            [
                "{path}:1: missing column(s) a",
                "{path}:1: unknown column(s) 'd'; the columns are a, b and optionally c",
                "{path}:1: repeated column(s) b, d",
            ],
            id="every-problem-at-once",
        ),
        pytest.param(
            "a,b,x", {"listing": "a, b, c"}, ["{path}:1: unknown column(s) 'x'; the columns are a, b, c"], id="listing"
        ),
        pytest.param('a,"b', {}, ["{path}:1: the header row is not valid CSV (unexpected end of data)"], id="not-csv"),
    ],
)
def test_a_wrong_header_lists_every_problem(tmp_path, header, kwargs, problems):
    path = tmp_path / "f.csv"
    path.write_text(header + "\n", encoding="utf-8")
    with pytest.raises(ImportRowsError) as caught:
        read(path, **kwargs)
    assert caught.value.problems == [p.format(path=path) for p in problems]
    assert str(caught.value).startswith(f"{path}: the header row is wrong; nothing was imported:")


def test_a_row_that_is_not_csv_names_its_line(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text('a,b\n1,2\n3,"4\n', encoding="utf-8")
    with pytest.raises(ImportRowsError) as caught:
        read(path)
    assert str(caught.value) == f"{path}: cannot read the file; nothing was imported:"
    assert caught.value.problems == [
        f"{path}:3: the row is not valid CSV (unexpected end of data); a cell holding a comma, quote or line break "
        "must be in double quotes, with its own quotes doubled"
    ]


@pytest.mark.parametrize("content", [b"", b"\n", b" , \n1,2\n"], ids=["empty", "blank-line", "blank-header"])
def test_an_empty_file_needs_its_header(tmp_path, content):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    with pytest.raises(ValidationError, match=re.escape(f"{path}: the file is empty; it needs a header row with a, b")):
        read(path)


def test_bytes_that_are_not_utf8_are_found_on_their_line_also_while_the_rows_are_used(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"a,b\n1,2\n" + b"x" * 20000 + b"\n3,\xe9\n")
    assert first_undecodable_line(path) == 4
    with pytest.raises(ValidationError, match=re.escape(f"{path}:4: the file is not UTF-8 text; save it as UTF-8 CSV")):
        with open_csv(path, ("a", "b")) as source:
            for _ in source.rows():
                pass
    path.write_bytes(b"a,b\n1,2\n")
    assert first_undecodable_line(path) is None


@pytest.mark.parametrize(
    "header",
    ["a,b,c", "c,a,b", "b,a"],  # the columns' own order, another order, the optional one left out
)
def test_columns_read_as_records_are_in_the_asked_order(tmp_path, header):
    """``read_columns`` gives each record's cells as ``read_records`` gives them, in the order asked
    (missing ones empty); blank lines skipped, a row of too many cells reported and not given."""
    names = header.split(",")
    values = [
        {"a": " 1 ", "b": "x", "c": "y"},
        {},  # blank: skipped
        {"a": "2", "b": " two\nlines "},
        None,  # a short row, its first cell only: the missing cells are empty
        {"a": "4", "b": "5", "c": "6"},  # and a cell too many: a problem
        {"a": "8", "b": "9", "c": "10"},
    ]
    text = header + "\n"
    for n, row in enumerate(values):
        cells = ["3"] if row is None else [row.get(name, "") for name in names] + (["7"] if n == 4 else [])
        text += ",".join(f'"{cell}"' if "\n" in cell else cell for cell in cells) + "\n"
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    by_name, by_place = RowProblems(path), RowProblems(path)
    records = list(read_records(path, ("a", "b"), ("c",), by_name))
    columns = list(read_columns(path, ("a", "b"), ("c",), by_place))
    expected = [(line, [cells.get("a", ""), cells.get("b", ""), cells.get("c", "")]) for line, cells in records]
    assert columns == expected
    assert [line for line, _ in columns] == [2, 4, 6, 8]
    assert columns[0][1][:2] == ["1", "x"] and columns[1][1][1] == "two\nlines"
    assert by_place.items == by_name.items and [line for line, _ in by_place.items] == [7]
    assert by_place.unread == by_name.unread == 1
