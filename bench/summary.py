"""From the raw wrk records to per-level medians, ratios to the reference, and the targets."""

from __future__ import annotations

import argparse
from collections import Counter
from statistics import median
from typing import Any

import forgot_timing
import idle
import log_settings
import login_timing
import proxied
from factsvc.config import Settings
from scenarios import BY_NAME, HOT, LOGIN, PER_LEVEL, PROBE
from wrk import MAX_THREADS

PREFERRED_COMPARE_LEVEL = 64
# The parts of a run, named in each record: every scenario at every level (results recorded
# before parts existed hold only these), the logging table, the idle connections, nginx.
LEVELS = "levels"
LOGGING = "logging"
IDLE = "idle"
PROXIED = "proxied"
PERCENTILES = ("p50", "p75", "p90", "p99")
# Settings left at their defaults that shape the results, by variable and Settings field.
DEFAULTS_SHOWN = {
    "FACT_LOCAL_CACHE_BYTES": "fact_local_cache_bytes",
    "FACT_WORKERS": "fact_workers",
    "FACT_MAX_PENDING": "fact_max_pending",
    "FACT_MAX_WAIT_SECONDS": "fact_max_wait_seconds",
    "BCRYPT_THREADS": "bcrypt_threads",
    "BCRYPT_MAX_PENDING": "bcrypt_max_pending",
    "BCRYPT_MAX_WAIT_SECONDS": "bcrypt_max_wait_seconds",
    "REDIS_MAX_CONNECTIONS": "redis_max_connections",
}
Record = dict[str, Any]


def compare_level(levels: list[int]) -> int:
    """64 connections, or the measured level nearest to it."""
    return min(levels, key=lambda level: (abs(level - PREFERRED_COMPARE_LEVEL), level))


def reported_settings(env: dict[str, str], options: argparse.Namespace) -> dict[str, str]:
    shown = dict(env)
    # Values that change every run, described instead of shown.
    shown |= {
        "PATH_DATA": "a fresh temporary directory",
        "TORNADO_SERVER_PORT": "a free port",
        "SESSION_COOKIE_SECRET": "random: secrets.token_urlsafe(48)",
    }
    defaults = Settings()
    for variable, field in DEFAULTS_SHOWN.items():
        if hasattr(defaults, field):
            shown[variable] = f"{getattr(defaults, field)} (default)"
    if defaults.bcrypt_threads == 0:
        shown["BCRYPT_THREADS"] = "0 (default: one per CPU)"
    shown["wrk"] = (
        f"--threads=min({MAX_THREADS}, connections) --timeout={options.timeout:g}s "
        f"--duration={options.duration:g}s --latency"
    )
    return shown


def _sum_maps(maps: list[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for part in maps:
        total.update(part)
    return dict(sorted(total.items()))


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return median(present) if present else None


def row(records: list[Record]) -> dict[str, Any]:
    """One level of one scenario on one server: medians over its runs, sums of its counts."""
    scenario = BY_NAME[records[0]["scenario"]]
    duration = sum(r["duration_s"] for r in records)
    counters = _sum_maps([r["counters"] for r in records])
    result: dict[str, Any] = {
        "connections": records[0]["connections"],
        "runs": len(records),
        "requests_per_second": median(r["requests_per_second"] for r in records),
        "latency_ms": {p: _median([r["latency_ms"][p] for r in records]) for p in PERCENTILES},
        "socket_errors": _sum_maps([r["socket_errors"] for r in records]),
        "non_2xx": sum(r["non_2xx"] for r in records),
        "statuses": _sum_maps([r["statuses"] for r in records]),
        "unexpected": _sum_maps([r["unexpected"] for r in records]),
        "shed": sum(r["shed"] for r in records),
        "counters": counters,
    }
    if scenario.rate_of:
        result["rate_name"] = scenario.rate_of
        result["rate_per_second"] = counters.get(scenario.rate_of, 0) / duration if duration else 0
    return result


def _rows(
    records: list[Record], scenario: str, server: str, processes: int, part: str = LEVELS
) -> list[Record]:
    chosen = [
        r
        for r in records
        if r["scenario"] == scenario
        and r["server"] == server
        and r["processes"] == processes
        and r["during"] is None
        and r.get("part", LEVELS) == part
    ]
    levels = sorted({r["connections"] for r in chosen})
    return [row([r for r in chosen if r["connections"] == level]) for level in levels]


def _at(rows: list[Record], level: int) -> Record | None:
    return next((r for r in rows if r["connections"] == level), None)


def _value(row: Record | None, *keys: str) -> Any:
    """row[k1][k2]..., or None when there is no row."""
    found: Any = row
    for key in keys:
        if found is None:
            return None
        found = found[key]
    return found


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    records: list[Record] = results["records"]
    processes: int = results["options"]["processes"]
    level = compare_level(results["options"]["levels"])
    reference = _rows(records, HOT.name, "reference", processes)
    scenarios: dict[str, list[Record]] = {}
    for scenario in (*PER_LEVEL, PROBE):
        rows = _rows(records, scenario.name, "service", processes)
        for each in rows:
            ceiling = _at(reference, each["connections"])
            each["ratio_to_reference"] = _ratio(
                each["requests_per_second"], _value(ceiling, "requests_per_second")
            )
        scenarios[scenario.name] = rows
    during_probe = {r["scenario"]: row([r]) for r in records if r["during"] == "probe"}
    summary: dict[str, Any] = {
        "compare_level": level,
        "scenarios": scenarios,
        "reference": reference,
        "probe_background": during_probe,
        "processes": _processes_compare(records, processes, level),
        "logging": _logging(records, level),
        "idle": _idle(records, results.get("idle"), processes, level),
        "proxied": _proxied(records, processes, level)
        | {"cache_statuses": results.get("proxy_cache_statuses") or {}},
        "login": _login(scenarios[LOGIN.name], results["bcrypt_limit"]),
        "memory": _memory(results["memory"]),
        "crawl": results.get("crawl"),
        "avatar": results.get("avatar"),
        "forgot": results.get("forgot"),
        "login_refusals": results.get("login_refusals"),
        "problems": _problems(records),
        "longest_settle": _longest_settle(records),
    }
    summary["targets"] = _targets(summary, level)
    return summary


def _processes_compare(records: list[Record], processes: int, level: int) -> dict[str, Any]:
    found: dict[str, Any] = {"level": level, "processes": processes}
    for server in ("service", "reference"):
        many = _at(_rows(records, HOT.name, server, processes), level)
        one = _at(_rows(records, HOT.name, server, 1, LOGGING), level)
        many_rps = _value(many, "requests_per_second")
        one_rps = _value(one, "requests_per_second")
        found[server] = {"many": many_rps, "one": one_rps, "ratio": _ratio(many_rps, one_rps)}
    return found


def _logging(records: list[Record], level: int) -> dict[str, Any]:
    """The logging table: the reference's and each setting's row at `level`, one process each,
    with the ratios of requests/s and of p99 to the reference's."""
    found: dict[str, Any] = {"level": level, "rows": {}}
    names = [log_settings.REFERENCE, *(setting.server for setting in log_settings.SETTINGS)]
    for server in names:
        each = _at(_rows(records, HOT.name, server, 1, LOGGING), level)
        if each is not None:
            found["rows"][server] = each
    reference = found["rows"].get(log_settings.REFERENCE)
    for each in found["rows"].values():
        each["ratio_to_reference"] = _ratio(
            each["requests_per_second"], _value(reference, "requests_per_second")
        )
        each["p99_ratio_to_reference"] = _ratio(
            each["latency_ms"]["p99"], _value(reference, "latency_ms", "p99")
        )
    return found


def _idle(
    records: list[Record], measured: dict[str, Any] | None, processes: int, level: int
) -> dict[str, Any] | None:
    """Hot without and beside the idle connections, the ratios of the second to the first, and
    the service's RSS per idle connection (KiB)."""
    if not measured:
        return None
    rows = {
        server: _at(_rows(records, HOT.name, server, processes, IDLE), level)
        for server in idle.SERVERS
    }
    without, beside = rows[idle.WITHOUT], rows[idle.BESIDE]
    opened = measured["opened"]
    growth = measured["after"]["rss_kib"] - measured["before"]["rss_kib"]
    return {
        **measured,
        "level": level,
        "processes": processes,
        "rows": {server: row for server, row in rows.items() if row is not None},
        "requests_ratio": _ratio(
            _value(beside, "requests_per_second"), _value(without, "requests_per_second")
        ),
        "p99_ratio": _ratio(
            _value(beside, "latency_ms", "p99"), _value(without, "latency_ms", "p99")
        ),
        "rss_growth_kib": growth,
        "kib_per_connection": _ratio(growth, opened),
    }


def _proxied(records: list[Record], processes: int, level: int) -> dict[str, Any]:
    """Hot and big through nginx: each server's row at `level` by scenario, with its ratio to
    the instance answered directly in the same cluster run."""
    scenarios: dict[str, dict[str, Any]] = {}
    for scenario in proxied.SCENARIOS:
        rows: dict[str, Any] = {}
        for server in proxied.SERVERS:
            found = _at(_rows(records, scenario.name, server, processes, PROXIED), level)
            if found is not None:
                rows[server] = found
        direct = _value(rows.get(proxied.DIRECT), "requests_per_second")
        for found in rows.values():
            found["ratio_to_direct"] = _ratio(found["requests_per_second"], direct)
        if rows:
            scenarios[scenario.name] = rows
    return {"level": level, "processes": processes, "scenarios": scenarios}


def _login(rows: list[Record], limit: dict[str, Any]) -> dict[str, Any]:
    """The level with the fewest successful logins: the target holds at every level."""
    worst = min(rows, key=lambda r: r.get("rate_per_second", 0), default=None)
    logins = worst["rate_per_second"] if worst else None
    return {
        "worst_level": _value(worst, "connections"),
        "logins_per_second": logins,
        "bcrypt_hashes_per_second": limit["hashes_per_second"],
        "ratio": _ratio(logins, limit["hashes_per_second"]),
    }


def _memory(memory: dict[str, Any]) -> dict[str, Any]:
    def total(snapshot: dict[str, Any] | None, group: str) -> int | None:
        if not snapshot:
            return None
        return sum(p["rss_kib"] or 0 for p in snapshot.get(group, []))

    found: dict[str, Any] = {}
    for group in ("service", "backends", "compute_pools"):
        before = total(memory.get("after_warm_up"), group)
        after = total(memory.get("after_sustained"), group)
        found[group] = {"after_warm_up_kib": before, "after_sustained_kib": after}
        found[group]["ratio"] = _ratio(after, before)
    workers = len(memory.get("after_sustained", {}).get("service", []))
    found["service_processes"] = workers
    found["local_cache_limit_bytes"] = Settings().fact_local_cache_bytes
    found["local_cache_bytes"] = {
        moment: memory.get(moment, {}).get("local_cache_bytes")
        for moment in ("after_warm_up", "after_sustained")
    }
    return found


def _longest_settle(records: list[Record]) -> dict[str, Any] | None:
    """The longest wait for the service's CPU pools to empty before a run, and which run."""
    waits = [r for r in records if r.get("settle_seconds") is not None]
    never = [r for r in records if "settle_seconds" in r and r["settle_seconds"] is None]
    if not waits and not never:
        return None
    longest = max(waits, key=lambda r: r["settle_seconds"], default=None)
    return {
        "seconds": _value(longest, "settle_seconds"),
        "before": longest and f"{longest['scenario']} at {longest['connections']} connections",
        "timed_out": len(never),
    }


def _problems(records: list[Record]) -> list[dict[str, Any]]:
    """Every service or reference run with a socket error or an unexpected status."""
    return [
        {
            "scenario": r["scenario"],
            "server": r["server"],
            "processes": r["processes"],
            "connections": r["connections"],
            "during": r["during"],
            "socket_errors": {k: v for k, v in r["socket_errors"].items() if v},
            "unexpected": r["unexpected"],
        }
        for r in records
        if r["unexpected"] or any(r["socket_errors"].values())
    ]


def _target(target: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"target": target, "measured": measured, "met": met}


def _fmt(value: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "not measured" if value is None else f"{value:{spec}}{suffix}"


def _targets(summary: dict[str, Any], level: int) -> list[dict[str, Any]]:
    hot = _at(summary["scenarios"][HOT.name], level)
    ceiling = _at(summary["reference"], level)
    rps_ratio = _value(hot, "ratio_to_reference")
    p99_ratio = _ratio(_value(hot, "latency_ms", "p99"), _value(ceiling, "latency_ms", "p99"))
    problems = summary["problems"]
    socket_errors = sum(sum(p["socket_errors"].values()) for p in problems)
    unexpected = sum(sum(p["unexpected"].values()) for p in problems)
    login = summary["login"]
    probe = summary["scenarios"][PROBE.name]
    probe_p99 = probe[0]["latency_ms"]["p99"] if probe else None
    memory = summary["memory"]["service"]
    rss_ratio = memory["ratio"]
    scaling = summary["processes"]["service"]["ratio"]
    cache_limit = summary["memory"]["local_cache_limit_bytes"]
    cache_used = summary["memory"]["local_cache_bytes"]["after_sustained"]
    crawl = summary["crawl"]
    crawled = _value(crawl, "after", "used_memory")
    bound = _value(crawl, "max_bytes")
    session = (
        "" if crawl is None else ", session " + ("valid" if crawl["session_valid"] else "LOST")
    )
    processes = summary["processes"]["processes"]
    return [
        *_logging_targets(summary["logging"]),
        _target(
            f"hot ≥ 0.9 x reference requests/s at {level} connections, {processes} processes",
            _fmt(rps_ratio, ".2f", " x"),
            None if rps_ratio is None else rps_ratio >= 0.9,
        ),
        _target(
            f"hot p99 ≤ 1.5 x reference p99 at {level} connections, {processes} processes",
            _fmt(p99_ratio, ".2f", " x"),
            None if p99_ratio is None else p99_ratio <= 1.5,
        ),
        _target(
            "zero socket errors and zero unexpected statuses, every scenario and level",
            f"{socket_errors} socket errors, {unexpected} unexpected statuses",
            socket_errors == 0 and unexpected == 0,
        ),
        _target(
            "login ≥ 0.8 x the machine's bcrypt limit, at every level",
            _fmt(login["ratio"], ".2f", f" x (lowest, at {login['worst_level']} connections)"),
            None if login["ratio"] is None else login["ratio"] >= 0.8,
        ),
        _target(
            "probe p99 < 20 ms",
            _fmt(probe_p99, ".1f", " ms"),
            None if probe_p99 is None else probe_p99 < 20,
        ),
        _target(
            "service RSS after the sustained run within 10 % of after warm-up",
            _fmt(rss_ratio, ".2f", " x"),
            None if rss_ratio is None else abs(rss_ratio - 1) <= 0.10,
        ),
        _target(
            "in-process factorial cache within FACT_LOCAL_CACHE_BYTES",
            _fmt(cache_used, ",.0f", f" bytes of {cache_limit:,}"),
            None if cache_used is None else cache_used <= cache_limit,
        ),
        _target(
            "cache server's used_memory after the crawl within FACT_CACHE_MAX_BYTES, and the "
            "session opened before it still valid",
            _fmt(crawled, ",.0f", f" bytes of {bound or 0:,}{session}"),
            None if crawl is None else crawled <= bound and crawl["session_valid"],
        ),
        _target(
            f"{processes} processes ≥ 1.5 x 1 process on hot",
            _fmt(scaling, ".2f", " x"),
            None if scaling is None or processes == 1 else scaling >= 1.5,
        ),
        _idle_target(summary["idle"]),
        _forgot_target(summary["forgot"]),
        _login_refusal_target(summary["login_refusals"]),
    ]


def _forgot_target(forgot: dict[str, Any] | None) -> dict[str, Any]:
    """Issue 16's: POST /password/forgot answers as fast for an address with an account as
    for one without (bench/forgot_timing.py)."""
    tolerance = forgot_timing.MEDIAN_TOLERANCE
    ratios = {
        kind: figures["median_ratio"]
        for kind, figures in (forgot or {}).get("kinds", {}).items()
        if kind != "unknown"
    }
    return _target(
        f"POST /password/forgot median within {tolerance:.0%} of an unknown address's, for a "
        "verified and an unverified address",
        ", ".join(f"{kind} {ratio:.2f} x" for kind, ratio in ratios.items()) or "not measured",
        None if not ratios else all(abs(r - 1) <= tolerance for r in ratios.values()),
    )


def _login_refusal_target(refusals: dict[str, Any] | None) -> dict[str, Any]:
    """A refused login takes as long for an unknown username as for a wrong password
    (bench/login_timing.py; OWASP Authentication Cheat Sheet, "Authentication Responses")."""
    ratio = None if not refusals else refusals["median_ratio"]
    return _target(
        f"POST /login refused for an unknown user: median within "
        f"{login_timing.MEDIAN_TOLERANCE:.0%} of a wrong password's",
        _fmt(ratio, ".2f", " x"),
        None if not refusals else refusals["within_target"],
    )


def _logging_targets(table: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 13's targets: the service in its production logging configuration against the
    reference, one process each, in the same run."""
    row = table["rows"].get(log_settings.PRODUCTION.server)
    rps = _value(row, "ratio_to_reference")
    p99 = _value(row, "p99_ratio_to_reference")
    where = f"at {table['level']} connections, 1 process, production logging (INFO, files)"
    return [
        _target(
            f"hot ≥ {log_settings.MIN_REQUESTS_RATIO} x reference requests/s {where}",
            _fmt(rps, ".2f", " x"),
            None if rps is None else rps >= log_settings.MIN_REQUESTS_RATIO,
        ),
        _target(
            f"hot p99 ≤ {log_settings.MAX_P99_RATIO} x reference p99 {where}",
            _fmt(p99, ".2f", " x"),
            None if p99 is None else p99 <= log_settings.MAX_P99_RATIO,
        ),
    ]


def _idle_target(found: dict[str, Any] | None) -> dict[str, Any]:
    text = "every idle connection opened, and still open after hot ran beside them"
    if not found:
        return _target(text, "not measured", None)
    opened, still, asked = found["opened"], found["still_open"], found["asked"]
    return _target(
        text,
        f"{opened:,} of {asked:,} opened, {still:,} still open",
        opened == asked and still == opened,
    )
