"""What every table shares: bars, counts, the window of rows and the console."""

from __future__ import annotations

import io

from softmax_cli.rich_output import (
    GAP,
    GLUE,
    HEAD_ROWS,
    TAIL_ROWS,
    RowWindow,
    bar,
    count_text,
    gaps,
    make_console,
    not_shown,
    shown_indices,
)


def test_bar_is_proportional_in_eighths():
    assert bar(1.0, 20) == "█" * 20
    assert bar(0.5, 20) == "█" * 10
    assert bar(1 / 160, 20) == "▏"
    assert bar(0.0) == ""


def test_count_text_groups_thousands_and_says_the_plural():
    assert count_text(1, "row") == "1 row"
    assert count_text(12345, "row") == "12,345 rows"
    assert count_text(2, "class", "classes") == "2 classes"


def test_not_shown_names_what_is_left_out_between_gap_marks():
    assert not_shown(3, "class", "classes") == f"{GAP} 3 classes not shown {GAP}"


def test_a_short_list_is_shown_whole():
    assert shown_indices(HEAD_ROWS + TAIL_ROWS + 1) == list(range(HEAD_ROWS + TAIL_ROWS + 1))


def test_a_long_list_shows_its_head_its_tail_and_what_must_be_kept():
    indices = shown_indices(100, 2, 1, keep=[50])
    assert indices == [0, 1, 50, 99]
    assert gaps(indices) == {2: 48, 3: 48}


def test_the_window_keeps_the_first_and_last_rows_of_a_stream_in_blocks():
    window: RowWindow[int] = RowWindow(head=3, tail=2)
    for start in range(0, 100, 7):
        count = min(7, 100 - start)
        window.add(count, lambda offset, start=start: start + offset)
    assert window.rows == [0, 1, 2, 98, 99]
    assert window.total == 100
    assert window.hidden == 95


def test_a_window_of_few_rows_hides_none():
    window: RowWindow[int] = RowWindow(head=3, tail=2)
    window.add(4, lambda offset: offset)
    assert window.rows == [0, 1, 2, 3]
    assert window.hidden == 0


def test_the_console_writes_glue_as_a_space_and_no_trailing_spaces():
    out = io.BytesIO()
    console, stream = make_console(out, no_color=True, terminal=False)
    console.print(f"T{GLUE}={GLUE}1   ")
    stream.flush()
    assert out.getvalue() == b"T = 1\n"
