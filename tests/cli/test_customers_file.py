"""The customers file on its own (``router.customers.import_file``): lines, columns and values, without a
database or a process (the command is tested end to end in ``test_customers_import``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from router.customers.import_file import Claim, Refused, check_rows, decode, read_rows


def test_lines_are_where_rows_start_across_blank_lines_and_quoted_line_breaks() -> None:
    text = (
        "External_Ref , Name,tier,contacts\n"  # header names are trimmed and case-insensitive
        "\n"
        'a,"Acme\nLabs",1,Ann@Acme.example; ann@acme.example ;\n'  # 3-4: one row over two lines
        "b,Beta,x,\n"  # 5
        "c,Gamma,2,,extra\n"  # 6
    )
    checked = check_rows("f.csv", text)
    assert [str(p) for p in checked.problems] == [
        "f.csv:5:8: tier must be 1 to 4 (got 'x')",
        "f.csv:6:12: 5 fields where the header names 4 columns",
    ]
    assert [(r.line, r.name, r.contacts) for r in checked.rows] == [(3, "Acme\nLabs", ("ann@acme.example",))]
    # A bad row's claims are still checked against the database.
    assert Claim(5, "reference", "b", column=1, ref="b", complete=False) in checked.claims


@pytest.mark.parametrize(
    ("header", "problems"),
    [
        (
            "ref,name",
            [
                "f.csv:1:1: unknown column 'ref' (the columns are external_ref, name, tier, domains, contacts, "
                "attr:NAME, metric:NAME@YYYY-MM)",
                "f.csv:1: missing columns: external_ref, tier",
            ],
        ),
        ("external_ref,name,tier,tier", ["f.csv:1:24: column 'tier' appears more than once"]),
    ],
)
def test_a_bad_header_is_reported_and_no_row_is_read(header: str, problems: list[str]) -> None:
    checked = check_rows("f.csv", header + "\na,A,1\n")
    assert [str(p) for p in checked.problems] == problems
    assert checked.rows == [] and checked.claims == []


def test_an_empty_file_has_no_header() -> None:
    checked = check_rows("f.csv", "\n\n")
    assert [str(p) for p in checked.problems] == [
        "f.csv:1: no header: the first line names the columns (external_ref, name, tier, domains, contacts, "
        "attr:NAME, metric:NAME@YYYY-MM)"
    ]


def test_a_bad_header_is_refused_before_any_database(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_text("ref,name,tier\na,A,1\n")
    with pytest.raises(Refused) as refused:
        read_rows(path)
    assert [p.line for p in refused.value.problems] == [1, 1]


def test_a_named_encoding_locates_its_first_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(b"external_ref,name,tier\nab,Caf\xe9,1\n")
    with pytest.raises(Refused) as refused:
        decode(path, "ascii")
    assert [str(p) for p in refused.value.problems] == [f"{path}:2:7: not ascii text (byte 0xe9)"]
    assert decode(path, "cp1252").endswith("ab,Caf\u00e9,1\n")


def test_cells_are_located_across_quotes_and_line_breaks() -> None:
    from router.customers.import_columns import cell_places, end_place

    raw = 'a,"x,""y""\nz",3,\r\n'
    assert cell_places(raw) == [(0, 1), (0, 3), (1, 4), (1, 6)]
    assert end_place(raw) == (1, 6)
    assert cell_places('"a,b",c') == [(0, 1), (0, 7)]
    assert cell_places('ab"c,d') == [(0, 1), (0, 6)]  # a quote inside a cell quotes nothing


def test_attribute_and_metric_cells_are_checked_where_they_are() -> None:
    text = (
        "external_ref,name,tier,attr:reference_logo,attr:seats,attr:Bad Name,metric:revenue_12m@2026-10\n"
        "a,A,1,yes,12,x,1e3\n"
    )
    checked = check_rows("f.csv", text)
    assert [str(p) for p in checked.problems] == [
        "f.csv:1:55: attribute column 'attr:Bad Name': the name after attr: is a letter, then up to 39 "
        "lower-case letters, digits or '_' (like revenue_12m)"
    ]
    text = "external_ref,name,tier,attr:reference_logo,attr:seats,attr:note,metric:revenue_12m@2026-10\n"
    checked = check_rows("f.csv", text + 'a,A,1,YES,12,"Big, old",1e3\nb,B,2,no,1.5,,\n')
    assert checked.problems == []
    assert [(r.attributes, [(f.period, f.metric, f.value) for f in r.figures]) for r in checked.rows] == [
        ({"reference_logo": True, "seats": 12, "note": "Big, old"}, [("2026-10", "revenue_12m", 1000.0)]),
        ({"reference_logo": False, "seats": 1.5}, []),
    ]
    bad = check_rows("f.csv", text + f"c,C,3,,,{'x' * 201},-2e15\n")
    assert [str(p) for p in bad.problems] == [
        "f.csv:2:9: attribute note has at most 200 characters, got 201",
        "f.csv:2:211: metric revenue_12m for 2026-10: a metric's value is a finite number within ±1e+15, got "
        "-2000000000000000.0",
    ]
