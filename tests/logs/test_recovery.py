"""The pure part of repairing a killed store: the loss window, the restart watch, the diff,
and Docker's timestamped log output read back into lines."""

from __future__ import annotations

from devpush.logs.recovery import (
    DOCKER_PART_BYTES,
    LOSS_MARGIN_SECONDS,
    Line,
    RestartWatch,
    Window,
    loss_window,
    missing_lines,
    parse_docker_logs,
)
from devpush.units import SECOND_NS

T0 = 1_796_511_890 * SECOND_NS  # 2026-12-05T23:04:50Z
EVERYTHING = Window(0, 2**63)


def stamp(offset_ns: int) -> bytes:
    seconds, fraction = divmod(T0 + offset_ns, SECOND_NS)
    assert seconds == T0 // SECOND_NS, "the helper writes times within T0's second"
    return f"2026-12-05T23:04:50.{fraction:09d}Z ".encode()


def test_the_loss_window_reaches_back_a_margin_and_ends_when_the_store_was_seen_dead() -> None:
    window = loss_window(
        last_alive_ns=T0, restarted_s=T0 // SECOND_NS + 3, dead_ns=T0 + 2 * SECOND_NS
    )
    assert window == Window(T0 - LOSS_MARGIN_SECONDS * SECOND_NS, T0 + 2 * SECOND_NS)
    assert window.holds(T0 - LOSS_MARGIN_SECONDS * SECOND_NS)
    assert not window.holds(T0 + 2 * SECOND_NS)


def test_the_loss_window_ends_after_the_restart_second_when_the_store_was_seen_dead_later() -> None:
    window = loss_window(
        last_alive_ns=T0, restarted_s=T0 // SECOND_NS + 3, dead_ns=T0 + 9 * SECOND_NS
    )
    assert window.end_ns == T0 + 4 * SECOND_NS


def test_windows_merge_into_one_that_covers_both() -> None:
    assert Window(5, 10).union(Window(1, 7)) == Window(1, 10)
    assert Window(5, 10).union(None) == Window(5, 10)


def test_the_watch_reports_a_new_start_time_once_with_the_last_time_seen_alive() -> None:
    watch = RestartWatch()
    assert watch.seen(100, now_ns=T0) is None  # the first look: nothing to compare with
    assert watch.seen(100, now_ns=T0 + SECOND_NS) is None
    assert watch.seen(None, now_ns=T0 + 2 * SECOND_NS) is None  # down: still alive at T0 + 1 s
    assert watch.seen(None, now_ns=T0 + 3 * SECOND_NS) is None
    window = watch.seen(105, now_ns=T0 + 6 * SECOND_NS)
    assert window == loss_window(
        last_alive_ns=T0 + SECOND_NS, restarted_s=105, dead_ns=T0 + 2 * SECOND_NS
    )
    assert watch.seen(105, now_ns=T0 + 7 * SECOND_NS) is None


def test_a_restart_between_two_polls_ends_the_window_at_the_poll_that_saw_it() -> None:
    watch = RestartWatch()
    watch.seen(100, now_ns=T0)
    window = watch.seen(101, now_ns=T0 + SECOND_NS // 2)
    assert window == loss_window(last_alive_ns=T0, restarted_s=101, dead_ns=T0 + SECOND_NS // 2)


def test_a_store_that_was_down_when_first_asked_is_not_a_restart() -> None:
    watch = RestartWatch()
    assert watch.seen(None, now_ns=T0) is None
    assert watch.seen(100, now_ns=T0 + SECOND_NS) is None


def test_missing_lines_are_those_docker_kept_and_the_store_lacks_counted_as_multisets() -> None:
    a, b, c = (Line(T0 + i, "stdout", "x") for i in range(3))
    err = Line(T0 + 1, "stderr", "x")
    written = [a, b, b, c, err]  # b printed twice in one nanosecond
    assert missing_lines(written, [a, b]) == [err, b, c]
    assert missing_lines(written, written) == []
    # A collector that crashed stored a line twice: nothing is missing, nothing removed.
    assert missing_lines(written, [*written, a]) == []


def test_docker_output_becomes_lines_of_one_stream_within_the_window() -> None:
    raw = stamp(1) + b"hello\n" + stamp(2) + b'{"a":1}\n' + stamp(3) + b"\n" + stamp(9) + b"late\n"
    lines = parse_docker_logs(raw, stream="stderr", window=Window(T0 + 1, T0 + 9))
    assert lines == [
        Line(T0 + 1, "stderr", "hello"),
        Line(T0 + 2, "stderr", '{"a":1}'),
        Line(T0 + 3, "stderr", ""),
    ]


def test_a_last_line_without_newline_and_undecodable_bytes_are_kept_as_collected() -> None:
    raw = stamp(1) + b"caf\xe9\n" + stamp(2) + b"no newline"
    assert parse_docker_logs(raw, stream="stdout", window=EVERYTHING) == [
        Line(T0 + 1, "stdout", "caf\ufffd"),
        Line(T0 + 2, "stdout", "no newline"),
    ]


def test_a_line_docker_split_in_16_kib_parts_is_one_line_at_its_first_part_time() -> None:
    first, second, last = b"a" * DOCKER_PART_BYTES, b"b" * DOCKER_PART_BYTES, b"c" * 10
    raw = stamp(1) + first + stamp(2) + second + stamp(3) + last + b"\n" + stamp(4) + b"next\n"
    assert parse_docker_logs(raw, stream="stdout", window=EVERYTHING) == [
        Line(T0 + 1, "stdout", (first + second + last).decode()),
        Line(T0 + 4, "stdout", "next"),
    ]
    # Exactly 16 KiB: the newline comes as an empty last part.
    raw = stamp(1) + first + stamp(2) + b"\n"
    assert parse_docker_logs(raw, stream="stdout", window=EVERYTHING) == [
        Line(T0 + 1, "stdout", first.decode())
    ]
