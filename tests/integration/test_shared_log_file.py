"""One log file for every process of every instance on a PATH_DATA: records never interleave."""

from __future__ import annotations

import logging
import multiprocessing
import time
from multiprocessing.synchronize import Event
from pathlib import Path

import pytest

from factsvc.config import Settings
from factsvc.logs import configure_logging

pytestmark = pytest.mark.timeout(60)

WRITERS = 4
RECORDS = 300
# Longer than the file object's 8 KiB buffer, and than a pipe's atomic PIPE_BUF (4 KiB).
LENGTH = 20_000


def write_records(path_data: str, writer: int, go: Event) -> None:
    """In a process of its own, as a worker of some instance: RECORDS records of LENGTH, all
    writers at once (written in pieces, such records interleave: hundreds of lines mixed)."""
    settings = Settings.from_env(
        {"PATH_DATA": path_data, "INSTANCE_NAME": f"instance-{writer}", "LOG_FORMAT": "plain"}
    )
    configure_logging(settings)
    log = logging.getLogger("factsvc.test")
    go.wait()
    for record in range(RECORDS):
        log.info("writer=%d record=%d %s end", writer, record, str(writer) * LENGTH)
    logging.shutdown()


def test_processes_of_several_instances_append_whole_lines_to_one_log_file(
    tmp_path: Path,
) -> None:
    spawn = multiprocessing.get_context("spawn")
    go = spawn.Event()
    writers = [
        spawn.Process(target=write_records, args=(str(tmp_path), writer, go))
        for writer in range(WRITERS)
    ]
    for process in writers:
        process.start()
    time.sleep(1.0)  # every writer has started and configured its logging
    go.set()
    for process in writers:
        process.join(45)
        assert process.exitcode == 0

    lines = [
        line
        for line in (tmp_path / "log" / "factsvc.log").read_text().splitlines()
        if "factsvc.test" in line
    ]
    assert len(lines) == WRITERS * RECORDS
    seen = set()
    for line in lines:
        head, payload, end = line.rsplit(" ", 2)
        writer, record = (int(part.split("=")[1]) for part in head.split()[-2:])
        assert (payload, end) == (str(writer) * LENGTH, "end"), "a record mixed with another"
        seen.add((writer, record))
    assert len(seen) == WRITERS * RECORDS
