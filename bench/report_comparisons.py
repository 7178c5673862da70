"""BENCHMARKS.md's side-by-side sections: the logging settings against the reference, hot beside
idle connections, and nginx (its cache off and on) beside the instance answered directly."""

from __future__ import annotations

from typing import Any

import idle
import log_settings
import proxied
from report_format import counts, ms, number, size_kib, socket_errors, table


def _percent_less(ratio: float | None) -> str:
    return "-" if ratio is None else f"{(1 - ratio) * 100:.0f} %"


def logging_section(found: dict[str, Any] | None, repeat: int) -> list[str]:
    lines = ["## Logging's cost", ""]
    if not found or not found["rows"]:
        return [*lines, "Not measured.", ""]
    rows = found["rows"]
    lines += [
        f"Hot at {found['level']} connections, one process each, in {repeat} round(s) of: the "
        "reference, then the service with each logging setting below in this order; medians "
        "of the rounds, ratios to the reference's. Each service is started as in Settings "
        "(production logging) with only the variables named here changed. `make run` runs "
        "DEBUG=true, which sets the level to DEBUG and also puts tracebacks in 5xx answers, "
        "drops the stop's drain and changes the session cookie; the DEBUG row keeps "
        "DEBUG=false so that only the level differs.",
        "",
    ]
    described = {log_settings.REFERENCE: "reference (bare Tornado, no logging)"}
    described |= {s.server: s.described for s in log_settings.SETTINGS}
    cells = []
    for server, text in described.items():
        row = rows.get(server)
        if row is None:
            continue
        latency = row["latency_ms"]
        cells.append(
            [
                text,
                number(row["requests_per_second"]),
                number(row.get("ratio_to_reference"), ".2f"),
                ms(latency["p50"]),
                ms(latency["p99"]),
                number(row.get("p99_ratio_to_reference"), ".2f"),
                socket_errors(row),
                f"{row['non_2xx']:,}",
            ]
        )
    header = ["logging", "requests/s", "ratio to reference", "p50", "p99", "p99 ratio"]
    lines += table([*header, "socket errors", "non-2xx"], cells)
    return lines + _costs(rows)


def _costs(rows: dict[str, Any]) -> list[str]:
    """One sentence a setting: what it costs against the reference and against quiet logging."""
    quiet = rows.get(log_settings.QUIET.server)
    lines = []
    for setting in log_settings.SETTINGS:
        row = rows.get(setting.server)
        if row is None:
            continue
        text = (
            f"- {setting.described.split(' (')[0]}: "
            f"{_percent_less(row.get('ratio_to_reference'))} fewer requests/s than the "
            f"reference, p99 {number(row.get('p99_ratio_to_reference'), '.2f')} x the reference's"
        )
        if quiet is not None and setting is not log_settings.QUIET:
            ratio = row["requests_per_second"] / quiet["requests_per_second"]
            text += f"; {_percent_less(ratio)} fewer requests/s than with logging quiet"
        lines.append(text + ".")
    return [*lines, ""] if lines else []


def idle_section(found: dict[str, Any] | None, open_files_limit: int | None) -> list[str]:
    lines = ["## Idle connections", ""]
    if not found:
        return [*lines, "Not measured.", ""]
    lines += [
        f"{found['asked']:,} connections to a service started as in Settings (with "
        f"HTTP_IDLE_TIMEOUT_SECONDS={found['idle_timeout_seconds']}, so that none is closed "
        f"for idling during the scenario) each made one request ({found['request']}) and then "
        f"stayed open, idle. The count is half the open files limit ({open_files_limit or '-'}"
        ", the driver's raised to its hard limit and inherited by the service: the driver and "
        f"the service each hold one descriptor a connection) less {idle.RESERVE:,} for "
        f"everything else. On one service of {found['processes']} process(es), each round "
        f"runs hot at {found['level']} connections without them, opens them, runs hot beside "
        "them, and closes them; medians of the rounds. Memory and descriptors are the first "
        "round's (later rounds reuse memory the first one freed).",
        "",
    ]
    cells = []
    for server in idle.SERVERS:
        row = found["rows"].get(server)
        if row is None:
            continue
        latency = row["latency_ms"]
        cells.append(
            [
                server,
                number(row["requests_per_second"]),
                ms(latency["p50"]),
                ms(latency["p99"]),
                socket_errors(row),
                f"{row['non_2xx']:,}",
            ]
        )
    lines += table(["hot", "requests/s", "p50", "p99", "socket errors", "non-2xx"], cells)
    before, after = found["before"], found["after"]
    descriptors = f"{_descriptors(before)} before, {_descriptors(after)} with them"
    facts = [
        ["requests/s beside ÷ without", number(found["requests_ratio"], ".2f")],
        ["p99 beside ÷ without", number(found["p99_ratio"], ".2f")],
        ["idle connections opened (fewest of any round)", f"{found['opened']:,}"],
        ["statuses of their requests, every round", counts(found["statuses"])],
        ["seconds to open them", f"{found['open_seconds']:g}"],
        ["still open after hot ran beside them (fewest of any round)", f"{found['still_open']:,}"],
        ["service RSS (parent and workers) before", size_kib(before["rss_kib"])],
        ["service RSS with the idle connections", size_kib(after["rss_kib"])],
        ["RSS per idle connection", number(found["kib_per_connection"], ".1f") + " KiB"],
        ["descriptors held by each service process", descriptors],
    ]
    lines += table(["what", "value"], facts)
    return [
        *lines,
        "RSS is the processes' memory; the kernel's socket buffers are not in it.",
        "",
    ]


def _descriptors(snapshot: dict[str, Any]) -> str:
    return " / ".join(str(n) if n is not None else "-" for n in snapshot["descriptors"].values())


def proxied_section(found: dict[str, Any] | None) -> list[str]:
    lines = ["## Through nginx", ""]
    if not found or not found["scenarios"]:
        return [*lines, "Not measured.", ""]
    lines += [
        f"At {found['level']} connections in `make cluster`'s topology: nginx (one worker, its "
        f"access log on) in front of instances of {found['processes']} processes each, on "
        "Redis (state and cache) and a MongoDB-compatible server, all on this machine's cores. "
        f"{proxied.CACHE_NOTE} Ratios are to the first instance answered directly in the same "
        "cluster run; medians of the rounds.",
        "",
    ]
    for scenario, rows in found["scenarios"].items():
        lines += [f"### {scenario} through nginx", ""]
        cells = [
            [
                server,
                number(r["requests_per_second"]),
                number(r.get("ratio_to_direct"), ".2f"),
                ms(r["latency_ms"]["p50"]),
                ms(r["latency_ms"]["p99"]),
                socket_errors(r),
                f"{r['non_2xx']:,}",
            ]
            for server, r in rows.items()
        ]
        header = ["server", "requests/s", "ratio to direct", "p50", "p99"]
        lines += table([*header, "socket errors", "non-2xx"], cells)
    statuses = found.get("cache_statuses") or {}
    if statuses:
        lines += [
            "nginx's cache status (`$upstream_cache_status`) over every request of the runs "
            "and warm-ups, hot and big together:",
            "",
            *table(
                ["server", "cache statuses"],
                [[server, counts(each)] for server, each in statuses.items()],
            ),
        ]
    return lines
