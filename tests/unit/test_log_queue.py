"""The log pipeline: lines queued are written at a flush and at a stop, a full queue drops and
counts, a stalled sink never holds up the caller or the stop, batches keep lines whole."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factsvc.log_format import PlainFormatter
from factsvc.log_queue import LogPipeline
from factsvc.log_writer import LineSink, WatchedFileSink, _whole_line_chunks

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def pipelines() -> Iterator[list[LogPipeline]]:
    started: list[LogPipeline] = []
    yield started
    for pipeline in started:
        pipeline.stop(timeout=0.1)


def started(pipelines: list[LogPipeline], sink: LineSink, capacity: int = 10_000) -> LogPipeline:
    pipeline = LogPipeline([sink], capacity, PlainFormatter())
    pipeline.start()
    pipelines.append(pipeline)
    return pipeline


def test_a_stop_writes_every_line_queued_before_it(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    path = tmp_path / "factsvc.log"
    pipeline = started(pipelines, WatchedFileSink(path))
    for number in range(5000):
        pipeline.handler.offer(f"line {number}")
    pipeline.stop()
    assert path.read_text().splitlines() == [f"line {number}" for number in range(5000)]
    assert pipeline.dropped() == {"file": 0}


def test_a_flush_returns_once_the_lines_are_written(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    path = tmp_path / "factsvc.log"
    pipeline = started(pipelines, WatchedFileSink(path))
    pipeline.handler.offer("first")
    assert pipeline.flush()
    assert path.read_text() == "first\n"


def test_lines_logged_after_the_stop_are_written_at_once(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    path = tmp_path / "factsvc.log"
    pipeline = started(pipelines, WatchedFileSink(path))
    pipeline.stop()
    pipeline.handler.offer("last words")
    assert path.read_text() == "last words\n"


def test_a_stalled_sink_drops_and_counts_and_never_holds_up_the_stop(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    fifo = tmp_path / "factsvc.log"
    os.mkfifo(fifo)  # nobody reads it: opening it for writing blocks the sink's thread
    pipeline = started(pipelines, WatchedFileSink(fifo), capacity=100)
    began = time.monotonic()
    for number in range(300):
        pipeline.handler.offer(f"line {number}")
    assert time.monotonic() - began < 1.0, "the caller waited for the sink"
    assert pipeline.dropped()["file"] >= 200
    began = time.monotonic()
    pipeline.stop(timeout=0.5)
    assert time.monotonic() - began < 2.0
    assert pipeline.dropped() == {"file": 300}, "every line is either written or counted"


def test_a_queue_half_full_wakes_its_writer_before_the_batch_is_due(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    path = tmp_path / "factsvc.log"
    # 60 lines every 20 ms: 600 in a batch interval, twice the capacity, so a writer that
    # waits for the interval drops lines; woken at half (the 3rd burst), it has 60 ms to run
    # before the 6th burst would find the queue full, time for a thread on a loaded machine.
    pipeline = started(pipelines, WatchedFileSink(path), capacity=300)
    for burst in range(20):
        for number in range(60):
            pipeline.handler.offer(f"line {burst} {number}")
        time.sleep(0.02)
    assert pipeline.flush()
    assert pipeline.dropped() == {"file": 0}
    assert len(path.read_text().splitlines()) == 1200


def test_a_moved_or_deleted_file_is_opened_again(tmp_path: Path) -> None:
    path = tmp_path / "factsvc.log"
    sink = WatchedFileSink(path)
    sink.write(["one"])
    path.rename(tmp_path / "factsvc.log.1")
    sink.write(["two"])
    path.unlink()
    sink.write(["three"])
    sink.close()
    assert (tmp_path / "factsvc.log.1").read_text() == "one\n"
    assert path.read_text() == "three\n"


def test_a_write_that_fails_counts_its_lines(tmp_path: Path) -> None:
    sink = WatchedFileSink(tmp_path / "missing directory" / "factsvc.log")
    sink.write(["a", "b"])
    assert sink.failed == 2


@pytest.mark.parametrize("most", [select.PIPE_BUF, 64, 0])
def test_batches_for_a_pipe_are_whole_lines_of_at_most_pipe_buf(most: int) -> None:
    lines = [str(n) * (n % 300) for n in range(400)] + ["\u00e9" * 10_000, "end"]
    data = "".join(line + "\n" for line in lines).encode()
    chunks = [bytes(chunk) for chunk in _whole_line_chunks(data, most)]
    if not most:
        assert b"".join(chunks) == data
        return
    written = b"".join(chunks)
    assert len(chunks) > 1
    for chunk in chunks:
        assert chunk.endswith(b"\n")
        assert len(chunk) <= most, "a longer write to a pipe may be interleaved"
        chunk.decode()  # never cut inside a character
    got = written.decode().splitlines()
    assert len(got) == len(lines)
    for line, original in zip(got, lines, strict=True):
        if line.endswith("...(line cut)"):
            assert original.startswith(line.removesuffix("...(line cut)"))
            assert len(original.encode()) >= most
        else:
            assert line == original


def test_a_line_logged_while_the_stop_writes_its_last_batch_is_written(
    tmp_path: Path, pipelines: list[LogPipeline]
) -> None:
    class SlowSink(WatchedFileSink):
        """Its thread's batches take 0.3 s each; writes after the stop are quick."""

        def write(self, lines: list[str]) -> None:
            if "_monitor" in threading.current_thread().name:  # QueueListener's thread
                time.sleep(0.3)
            super().write(lines)

    path = tmp_path / "factsvc.log"
    pipeline = started(pipelines, SlowSink(path))
    pipeline.handler.offer("first")
    time.sleep(0.25)  # the thread has taken "first" and is writing it

    def offer_late() -> None:
        for number in range(600):  # until after the last batch has been taken
            pipeline.handler.offer(f"late {number}")
            time.sleep(0.001)

    offering = threading.Thread(target=offer_late)
    offering.start()
    pipeline.stop()
    offering.join()
    written = path.read_text().splitlines()
    assert len(written) + pipeline.dropped()["file"] == 601, "a line neither written nor counted"
    assert pipeline.dropped()["file"] == 0
