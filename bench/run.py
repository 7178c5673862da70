"""Load-test factsvc with wrk against a bare Tornado reference, and write BENCHMARKS.md.

.venv/bin/python bench/run.py [--levels 16,64] [--duration 8] [--processes 2] [--out DIR]
.venv/bin/python bench/run.py --smoke      # a few seconds a scenario, output in a temp dir
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import signal
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import avatar_upload
import charts
import crawl
import forgot_timing
import idle
import log_settings
import login_timing
import machine
import proxied
import report
import summary
from options import REPO, Outputs, parse_options
from prepare import Users, random_word, warm_factorials, write_lines
from scenarios import (
    BIG,
    BIG_N,
    COLD,
    COLD_RANGE,
    HOT,
    HOT_VALUES,
    INFO_BEARER,
    INFO_COOKIE,
    JOURNEY,
    LOGIN,
    PER_LEVEL,
    PROBE,
    PROBE_COLD_CONNECTIONS,
    PROBE_COLD_RANGE,
    PROBE_CONNECTIONS,
    PROBE_LOGIN_CONNECTIONS,
    PROBE_PAUSE_MS,
    SESSIONS,
    SPREAD,
    ColdSlices,
    Scenario,
)
from servers import Server, start_reference, start_service
from service_metrics import local_cache_bytes, wait_until_idle
from wrk import MAX_THREADS, Load, Wrk, WrkResult, find_or_install, version

# The virtual environment running this driver: its factsvc and python are what is measured.
BIN = Path(sys.executable).parent
# The background load of the probe starts this much before the probe and ends this much after.
PROBE_LEAD_SECONDS = 1.0
# Longest wait for work left by the previous run (queued logins, factorials) to finish.
SETTLE_TIMEOUT_SECONDS = 120.0
SETTLE_NOTED_SECONDS = 2.0


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


class Bench:
    """One benchmark run: servers, preparation, wrk runs, and the records they leave."""

    def __init__(self, options: argparse.Namespace, wrk: Wrk, work_dir: Path) -> None:
        self.options = options
        self.wrk = wrk
        self.work_dir = work_dir
        self.users = Users.make(options.users)
        # One block of cold n per level, and one for the warm-up.
        self.cold_slices = ColdSlices(*COLD_RANGE, runs=len(options.levels) + 1)
        self.records: list[dict[str, Any]] = []
        self.memory: dict[str, Any] = {}
        self.settings: dict[str, str] = {}
        self.crawl: dict[str, Any] | None = None
        self.avatar: dict[str, Any] | None = None
        self.forgot: dict[str, Any] | None = None
        self.login_refusals: dict[str, Any] | None = None
        self.idle: dict[str, Any] | None = None
        self.proxy_cache: dict[str, dict[str, int]] = {}
        self._prepared: set[str] = set()
        self._service: Server | None = None

    def run(self) -> None:
        processes = self.options.processes
        with ExitStack() as stack:
            reference, service = self._start_pair(stack, processes)
            self._warm_up(reference, service)
            self.memory["after_warm_up"] = _memory(service)
            for scenario in PER_LEVEL:
                for level in self.options.levels:
                    if scenario is HOT:
                        self._alternate(reference, service, processes, level)
                    else:
                        self._measure(scenario, service, "service", processes, level)
            self._probe(service)
            self.memory["after_sustained"] = _memory(service)
        self._log_settings()
        compare = summary.compare_level(self.options.levels)
        self.idle = idle.measure(
            self.wrk,
            self.options,
            functools.partial(self._record, part=summary.IDLE),
            bin_dir=BIN,
            work_dir=self.work_dir,
            connections=compare,
            count=self.options.idle_connections,
            progress=progress,
        )
        progress("hot and big through nginx, its cache off and on: one instance, then two")
        self.proxy_cache = proxied.measure(
            self.wrk,
            self.options,
            functools.partial(self._record, part=summary.PROXIED),
            connections=compare,
            service_env=self.settings,
            work_dir=self.work_dir,
        )
        self.crawl = crawl.measure(BIN, self.work_dir, self.options, progress)
        memory = self.crawl["after"]["used_memory"]
        progress(f"cache server after the crawl: {memory:,} B of {self.crawl['max_bytes']:,} B")
        self.avatar = avatar_upload.measure(self.options.avatar_runs, log=progress)
        self.forgot = forgot_timing.measure(self.options.forgot_samples, log=progress)
        self.login_refusals = login_timing.measure(
            self.options.login_samples, self.options.bcrypt_rounds, log=progress
        )

    def _log_settings(self) -> None:
        """The issue's table: the reference and the service at each logging setting, one process
        each, hot at the compare level in rounds of reference, then each setting in turn."""
        level = summary.compare_level(self.options.levels)
        loop = self.options.event_loop
        progress("logging settings: the reference and 3 services of one process each")
        with ExitStack() as stack:
            reference = start_reference(BIN, self.work_dir, processes=1, event_loop=loop)
            stack.callback(reference.stop)
            servers = [(log_settings.REFERENCE, reference)]
            for setting in log_settings.SETTINGS:
                service, _ = start_service(
                    BIN,
                    self.work_dir,
                    processes=1,
                    event_loop=loop,
                    bcrypt_rounds=self.options.bcrypt_rounds,
                    extra_env=setting.env,
                    name=f"service-1p-{setting.key}",
                )
                stack.callback(service.stop)
                warm_factorials(service.url, HOT_VALUES)
                servers.append((setting.server, service))
            for _, server in servers:
                self.wrk.run(self._load(HOT, server, level, duration_s=self.options.warm_up))
            for round_number in range(self.options.repeat):
                for name, server in servers:
                    result = self.wrk.run(self._load(HOT, server, level))
                    self._record(HOT, result, name, 1, level, round_number, part=summary.LOGGING)

    def _warm_up(self, reference: Server, service: Server) -> None:
        """Every scenario once, unrecorded, at the highest level: caches, pools, connections and
        buffers reach their working size first, so that memory measured after it is the steady
        state, not the start."""
        connections = max(self.options.levels)
        seconds = self.options.warm_up
        progress(f"warming up: every scenario for {seconds:.0f} s at {connections} connections")
        self.wrk.run(self._load(HOT, reference, connections, duration_s=seconds))
        for scenario in PER_LEVEL:
            self._prepare(scenario, service)
            self._settle()
            self.wrk.run(self._load(scenario, service, connections, duration_s=seconds))

    def _start_pair(self, stack: ExitStack, processes: int) -> tuple[Server, Server]:
        loop = self.options.event_loop
        progress(f"starting the reference server and the service ({processes} process(es))")
        reference = start_reference(BIN, self.work_dir, processes=processes, event_loop=loop)
        stack.callback(reference.stop)
        service, env = start_service(
            BIN,
            self.work_dir,
            processes=processes,
            event_loop=loop,
            bcrypt_rounds=self.options.bcrypt_rounds,
        )
        stack.callback(service.stop)
        self.settings = self.settings or env
        self._service = service
        return reference, service

    def _alternate(self, reference: Server, service: Server, processes: int, level: int) -> None:
        """Reference and service in turn: drifts of a noisy machine fall on both alike."""
        for round_number in range(self.options.repeat):
            for name, server in (("reference", reference), ("service", service)):
                self._measure(HOT, server, name, processes, level, round_number=round_number)

    def _prepare(self, scenario: Scenario, service: Server) -> None:
        """Once per scenario and service: what it needs in place before it is measured."""
        if scenario.name in self._prepared:
            return
        self._prepared.add(scenario.name)
        if scenario is HOT:
            warm_factorials(service.url, HOT_VALUES)
        elif scenario is SPREAD:
            started = time.monotonic()
            warm_factorials(service.url, range(self.options.spread_max + 1))
            progress(
                f"warmed n = 0..{self.options.spread_max} in {time.monotonic() - started:.0f} s"
            )
        elif scenario is BIG:
            warm_factorials(service.url, [BIG_N])
        elif scenario in (LOGIN, PROBE):
            self._register_users(service)
        elif scenario in (INFO_COOKIE, INFO_BEARER):
            self._open_sessions(service)

    def _register_users(self, service: Server) -> None:
        if "users" in self._prepared:
            return
        self._prepared.add("users")
        started = time.monotonic()
        self.users.register(service.url)
        elapsed = time.monotonic() - started
        progress(f"registered {len(self.users.usernames)} users in {elapsed:.0f} s")
        write_lines(self.work_dir / "usernames.txt", self.users.usernames)

    def _open_sessions(self, service: Server) -> None:
        if "sessions" in self._prepared:
            return
        self._prepared.add("sessions")
        self._register_users(service)
        sessions = self.users.log_in(service.url, SESSIONS)
        write_lines(self.work_dir / "tokens.txt", (token for token, _ in sessions))
        write_lines(self.work_dir / "cookies.txt", (cookie for _, cookie in sessions))

    def _args(self, scenario: Scenario, connections: int) -> tuple[str, ...]:
        files = self.work_dir
        password = self.users.password
        if scenario is HOT:
            return (",".join(map(str, HOT_VALUES)),)
        if scenario is SPREAD:
            return (str(self.options.spread_max),)
        if scenario is BIG:
            return (str(BIG_N),)
        if scenario is COLD:
            return self.cold_slices.take(threads=min(MAX_THREADS, connections))
        if scenario is LOGIN:
            return (str(files / "usernames.txt"), password)
        if scenario is INFO_COOKIE:
            return (str(files / "cookies.txt"),)
        if scenario is INFO_BEARER:
            return (str(files / "tokens.txt"),)
        if scenario is JOURNEY:
            return ("j" + random_word(4), password)
        return (str(PROBE_PAUSE_MS),)

    def _load(
        self,
        scenario: Scenario,
        server: Server,
        connections: int,
        *,
        duration_s: float | None = None,
        args: tuple[str, ...] = (),
    ) -> Load:
        return Load(
            script=scenario.script,
            url=server.url,
            connections=connections,
            duration_s=duration_s or self.options.duration,
            timeout_s=self.options.timeout,
            args=args or self._args(scenario, connections),
        )

    def _measure(
        self,
        scenario: Scenario,
        server: Server,
        name: str,
        processes: int,
        connections: int,
        round_number: int = 0,
    ) -> None:
        settled = self._settle()
        result = self.wrk.run(self._load(scenario, server, connections))
        self._record(scenario, result, name, processes, connections, round_number, settled)

    def _settle(self) -> float | None:
        """Let the service finish what the previous run left queued: a run measures only its
        own load. The seconds waited, or None if the service was still busy at the timeout."""
        assert self._service is not None
        waited = wait_until_idle(self._service.url, SETTLE_TIMEOUT_SECONDS)
        if waited is None:
            progress(f"the service's CPU pools still busy after {SETTLE_TIMEOUT_SECONDS:.0f} s")
        elif waited > SETTLE_NOTED_SECONDS:
            progress(f"waited {waited:.0f} s for the service's CPU pools to empty")
        return waited

    def _record(
        self,
        scenario: Scenario,
        result: WrkResult,
        server: str,
        processes: int,
        connections: int,
        round_number: int = 0,
        settled: float | None = 0.0,
        during: str | None = None,
        part: str = summary.LEVELS,
    ) -> None:
        unexpected = scenario.unexpected(result)
        shed = scenario.shed(result)
        self.records.append(
            {
                "scenario": scenario.name,
                "server": server,
                "processes": processes,
                "connections": connections,
                "round": round_number,
                "during": during,
                "part": part,
                "settle_seconds": settled,
                "unexpected": unexpected,
                "shed": shed,
                **result.to_json(),
            }
        )
        notes = [f"{result.requests_per_second:.0f} req/s", f"p99 {_ms(result.latency_ms['p99'])}"]
        if scenario.rate_of:
            notes.append(f"{result.per_second(scenario.rate_of):.1f} {scenario.rate_of}/s")
        if shed:
            notes.append(f"shed {shed}")
        if unexpected:
            notes.append(f"UNEXPECTED {unexpected}")
        if result.socket_error_count:
            notes.append(f"SOCKET ERRORS {result.socket_errors}")
        label = f"{scenario.name} {connections}c" + (f" during {during}" if during else "")
        label += "" if part == summary.LEVELS else f" {part}"
        procs = "" if processes == self.options.processes else f" ({processes} process)"
        progress(f"[{label}] {server}{procs} " + " ".join(notes))

    def _probe(self, service: Server) -> None:
        """Probe latency while logins and big cold factorials load the service."""
        self._prepare(PROBE, service)
        processes = self.options.processes
        duration = self.options.duration * 2
        probe = self._load(PROBE, service, PROBE_CONNECTIONS, duration_s=duration)
        cold_args = ColdSlices(*PROBE_COLD_RANGE, runs=1).take(
            threads=min(MAX_THREADS, PROBE_COLD_CONNECTIONS)
        )
        # The background load starts first and ends after the probe: it sees only loaded time.
        loaded = duration + 2 * PROBE_LEAD_SECONDS
        background = [
            self._load(LOGIN, service, PROBE_LOGIN_CONNECTIONS, duration_s=loaded),
            self._load(
                COLD,
                service,
                PROBE_COLD_CONNECTIONS,
                duration_s=loaded,
                args=cold_args,
            ),
        ]
        settled = self._settle()
        started = []
        try:
            for load in background:
                started.append((load, self.wrk.start(load)))
            time.sleep(PROBE_LEAD_SECONDS)
            result = self.wrk.run(probe)
            self._record(PROBE, result, "service", processes, PROBE_CONNECTIONS, 0, settled)
            for (load, process), scenario in zip(started, (LOGIN, COLD), strict=True):
                result = self.wrk.finish(process, load)
                connections = load.connections
                self._record(
                    scenario, result, "service", processes, connections, 0, settled, "probe"
                )
        finally:
            for _, process in started:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def _memory(service: Server) -> dict[str, Any]:
    snapshot: dict[str, Any] = {
        group: [
            {"pid": p.pid, "rss_kib": p.rss_kib(), "command": p.command[:120]} for p in processes
        ]
        for group, processes in service.service_processes().items()
    }
    snapshot["local_cache_bytes"] = local_cache_bytes(service.url)
    return snapshot


def _show_errors(work_dir: Path, lines: int = 30) -> None:
    """The last lines of every log the run's servers wrote that holds an error: the work
    directory goes with the run."""
    for log in sorted(work_dir.rglob("*.log")):
        with contextlib.suppress(OSError):
            text = log.read_text(errors="replace")
            if "ERROR" in text or "Traceback" in text:
                tail = "\n".join(text.splitlines()[-lines:])
                progress(f"--- {log.relative_to(work_dir)} (last {lines} lines)\n{tail}")


def _stop_on_sigterm(_signum: int, _frame: object) -> NoReturn:
    # SystemExit unwinds through every finally block, which stop what this run started.
    raise SystemExit(143)


def write_outputs(results: dict[str, Any], outputs: Outputs) -> None:
    results["summary"] = summary.summarize(results)
    for path in vars(outputs).values():
        path.parent.mkdir(parents=True, exist_ok=True)
    outputs.results.write_text(json.dumps(results, indent=1) + "\n")
    drawn = charts.draw(results, outputs.throughput_chart, outputs.latency_chart)
    outputs.markdown.write_text(report.render(results, outputs, drawn))
    progress(f"wrote {outputs.markdown}, {outputs.results}")


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    if options.from_results:
        # The report again from recorded results, e.g. after a change to the report itself.
        write_outputs(json.loads(options.from_results.read_text()), Outputs.for_directory(None))
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    # Before any server starts: they inherit it, and the idle connections need it.
    open_files_limit = idle.raise_open_files_limit()
    if options.idle_connections is None:
        options.idle_connections = idle.capacity(open_files_limit)
    progress(f"open files limit {open_files_limit}: {options.idle_connections:,} idle connections")
    wrk = Wrk(find_or_install())
    outputs = Outputs.for_directory(options.out)
    started_at = datetime.now(UTC)
    machine_facts = machine.describe(REPO)
    progress(f"measuring bcrypt at cost {options.bcrypt_rounds} on every CPU")
    bcrypt_limit = machine.bcrypt_hashes_per_second(options.bcrypt_rounds, options.bcrypt_seconds)
    progress(f"bcrypt limit: {bcrypt_limit['hashes_per_second']:.1f} hashes/s")
    with tempfile.TemporaryDirectory(prefix="factsvc-bench-") as work_dir:
        bench = Bench(options, wrk, Path(work_dir))
        try:
            bench.run()
        except Exception:
            _show_errors(Path(work_dir))
            raise
    results = {
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(options).items()},
        "machine": machine_facts | {"open_files_limit": open_files_limit},
        "versions": machine.versions(version(wrk.path)),
        "settings": summary.reported_settings(bench.settings, options),
        "bcrypt_limit": bcrypt_limit,
        "memory": bench.memory,
        "crawl": bench.crawl,
        "avatar": bench.avatar,
        "forgot": bench.forgot,
        "login_refusals": bench.login_refusals,
        "idle": bench.idle,
        "proxy_cache_statuses": bench.proxy_cache,
        "records": bench.records,
    }
    write_outputs(results, outputs)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        progress("interrupted: every process this run started is stopped")
        sys.exit(130)
