"""The figures of a benchmark run: summaries per phase, the targets, the JSON document and the table."""

from __future__ import annotations

import contextlib
import os
import platform
from datetime import datetime
from pathlib import Path
from typing import Any

from backend.bench.processes import PhaseRun
from backend.bench.stats import ms, percentile

TARGETS = {
    "ingest_positions_per_s": 5000.0,
    "ingest_ack_p99_ms": 250.0,
    "fanout_rate": 1000.0,
    "fanout_operators": 50,
    "fanout_p99_ms": 1000.0,
    "ingest_ratio": 0.25,
}


def _cpu_pct(cpu_s: float | None, seconds: float) -> float | None:
    return None if cpu_s is None or seconds <= 0 else round(100.0 * cpu_s / seconds, 1)


def _common(run_: PhaseRun) -> dict[str, Any]:
    results = run_.results
    load_cpu = sum(r.cpu_s for r in results)
    load_window = max((r.window_s for r in results), default=run_.seconds) or run_.seconds
    return {
        "seconds": round(run_.seconds, 2),
        "devices_connected": sum(r.devices for r in results),
        "server_cpu_pct": _cpu_pct(run_.server_cpu_s, run_.seconds),
        "database_cpu_pct": _cpu_pct(run_.database_cpu_s, run_.seconds),
        "load_cpu_pct": _cpu_pct(load_cpu, load_window),
        # everything on the machine, in % of one core (200 % = both of 2 cores busy); minus ours: other work
        "machine_busy_pct": _cpu_pct(run_.machine_busy_s, run_.seconds),
        "other_cpu_pct": _cpu_pct(
            max(0.0, run_.machine_busy_s - run_.server_cpu_s - (run_.database_cpu_s or 0.0) - load_cpu),
            run_.seconds,
        ),
        "errors": [e for r in results for e in r.errors][:20],
    }


def summarize_ingest(run_: PhaseRun, target_rate: float | None = None) -> dict[str, Any]:
    results = run_.results
    window = max((r.window_s for r in results), default=0.0) or run_.seconds
    latencies = [v for r in results for v in r.ack_latency_us]
    acked = sum(r.acked_in_window for r in results)
    figures = {
        "positions_per_s": round(acked / window, 1),
        "sent_per_s": round(sum(r.sent for r in results) / window, 1),
        "sent": sum(r.sent for r in results),
        "acked_in_window": acked,
        "acked_total": sum(r.acked_total for r in results),
        "unacked_after_drain": sum(r.unacked for r in results),
        "ack_p50_ms": ms(percentile(latencies, 50)),
        "ack_p99_ms": ms(percentile(latencies, 99)),
        "ack_max_ms": ms(max(latencies)) if latencies else None,
        "behind": sum(r.behind for r in results),
        **_common(run_),
    }
    if target_rate is not None:
        figures["target_rate"] = target_rate
    return figures


def summarize_fanout(run_: PhaseRun, rate: float, tick_s: float) -> dict[str, Any]:
    figures = summarize_ingest(run_, target_rate=rate)
    results = run_.results
    window = max((r.window_s for r in results), default=0.0) or run_.seconds
    latencies = [v for r in results for v in r.operator_latency_us]
    frames = [f for r in results for f in r.operator_frames]
    figures.update(
        {
            "operators_connected": sum(r.operators for r in results),
            "operator_latency_p50_ms": ms(percentile(latencies, 50)),
            "operator_latency_p99_ms": ms(percentile(latencies, 99)),
            "operator_latency_max_ms": ms(max(latencies)) if latencies else None,
            "operator_samples": len(latencies),
            "frames_per_operator_per_s_max": round(max(frames) / window, 2) if frames else None,
            "frames_per_operator_per_s_mean": round(sum(frames) / len(frames) / window, 2)
            if frames
            else None,
            "frames_per_operator_max": max(frames) if frames else None,
            "tick_s": tick_s,
            "frames_per_s_limit": round(1.0 / tick_s, 2),
        }
    )
    return figures


def _check(measured: float | None, ok: bool | None, target: str, **extra: Any) -> dict[str, Any]:
    return {"target": target, "measured": measured, "pass": bool(ok), **extra}


def build_result(
    parameters: dict[str, Any],
    phases: dict[str, dict[str, Any]],
    integrity: dict[str, Any],
    started: datetime,
) -> dict[str, Any]:
    """The JSON document: machine, parameters, figures per phase, and each target passed or failed."""
    targets: dict[str, dict[str, Any]] = {}
    sat, sus, fan, base = (phases.get(k) for k in ("saturation", "sustained", "fanout", "baseline"))
    if sat:
        targets["ingest_throughput"] = _check(
            sat["positions_per_s"],
            sat["positions_per_s"] >= TARGETS["ingest_positions_per_s"],
            ">= 5000 positions/s (saturation)",
        )
    if sus:
        rate_ok = sus["positions_per_s"] >= 0.95 * parameters["ingest_rate"]
        p99 = sus["ack_p99_ms"]
        targets["ingest_ack_p99"] = _check(
            p99,
            rate_ok and p99 is not None and p99 <= TARGETS["ingest_ack_p99_ms"],
            "p99 ack <= 250 ms while 5000 positions/s are taken (sustained)",
            at_target_load=parameters["ingest_rate"] >= TARGETS["ingest_positions_per_s"],
            rate_reached=rate_ok,
        )
    if fan:
        p99 = fan["operator_latency_p99_ms"]
        targets["fanout_latency_p99"] = _check(
            p99,
            p99 is not None
            and p99 <= TARGETS["fanout_p99_ms"]
            and fan["operators_connected"] == parameters["operators"],
            "position-to-operator p99 <= 1 s at 1000 positions/s with 50 operators",
            at_target_load=parameters["rate"] >= TARGETS["fanout_rate"]
            and parameters["operators"] >= TARGETS["fanout_operators"],
        )
        limit = int(fan["seconds"] / fan["tick_s"]) + 1  # a window boundary may split a tick
        most = fan["frames_per_operator_max"]
        targets["fanout_frames_per_tick"] = _check(
            fan["frames_per_operator_per_s_max"],
            most is not None and most <= limit,
            f"<= 1 frame per operator per tick ({fan['frames_per_s_limit']}/s)",
        )
    ratio = None
    if sat and base and base["positions_per_s"] > 0:
        ratio = round(sat["positions_per_s"] / base["positions_per_s"], 3)
        targets["ingest_ratio"] = _check(ratio, ratio >= TARGETS["ingest_ratio"], ">= 25 % of the baseline")
    if integrity:
        targets["nothing_lost_or_doubled"] = _check(
            integrity["stored_rows"], integrity["ok"], "every acked position stored exactly once"
        )
    return {
        "benchmark": "ingest",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "parameters": parameters,
        "phases": phases,
        "ingest_ratio": ratio,
        "integrity": integrity,
        "targets": targets,
        "pass": all(t["pass"] for t in targets.values()),
    }


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def format_table(result: dict[str, Any]) -> str:
    p = result["phases"]
    m = result["machine"]
    par = result["parameters"]
    rows: list[tuple[str, str]] = []

    def add(label: str, value: Any, unit: str = "") -> None:
        rows.append((label, "—" if value is None else f"{value}{unit}"))

    if "saturation" in p:
        s = p["saturation"]
        add("saturation: positions/s acked", s["positions_per_s"])
        add("saturation: ack p50 / p99", f"{s['ack_p50_ms']} / {s['ack_p99_ms']}", " ms")
        add(
            "saturation: server / db / load CPU",
            f"{s['server_cpu_pct']} / {s['database_cpu_pct']} / {s['load_cpu_pct']}",
            " %",
        )
        add(
            "saturation: machine busy / of which other work",
            f"{s['machine_busy_pct']} / {s['other_cpu_pct']}",
            " %",
        )
    if "sustained" in p:
        s = p["sustained"]
        add(f"sustained @ {s['target_rate']:g}/s: positions/s acked", s["positions_per_s"])
        add("sustained: ack p50 / p99", f"{s['ack_p50_ms']} / {s['ack_p99_ms']}", " ms")
        add(
            "sustained: server / db / load CPU",
            f"{s['server_cpu_pct']} / {s['database_cpu_pct']} / {s['load_cpu_pct']}",
            " %",
        )
        add(
            "sustained: machine busy / of which other work",
            f"{s['machine_busy_pct']} / {s['other_cpu_pct']}",
            " %",
        )
    if "fanout" in p:
        s = p["fanout"]
        add(
            f"fan-out @ {s['target_rate']:g}/s, {s['operators_connected']} operators: positions/s acked",
            s["positions_per_s"],
        )
        add(
            "fan-out: position-to-operator p50 / p99",
            f"{s['operator_latency_p50_ms']} / {s['operator_latency_p99_ms']}",
            " ms",
        )
        add(
            "fan-out: frames/operator/s max (limit)",
            f"{s['frames_per_operator_per_s_max']} ({s['frames_per_s_limit']})",
        )
        add(
            "fan-out: server / db / load CPU",
            f"{s['server_cpu_pct']} / {s['database_cpu_pct']} / {s['load_cpu_pct']}",
            " %",
        )
        add(
            "fan-out: machine busy / of which other work",
            f"{s['machine_busy_pct']} / {s['other_cpu_pct']}",
            " %",
        )
    if "baseline" in p:
        s = p["baseline"]
        add("baseline: positions/s acked", s["positions_per_s"])
        add("baseline: ack p50 / p99", f"{s['ack_p50_ms']} / {s['ack_p99_ms']}", " ms")
        add("baseline: server / load CPU", f"{s['server_cpu_pct']} / {s['load_cpu_pct']}", " %")
        add(
            "baseline: machine busy / of which other work",
            f"{s['machine_busy_pct']} / {s['other_cpu_pct']}",
            " %",
        )
    add("ingest ratio (schakel / baseline)", result["ingest_ratio"])
    width = max(len(label) for label, _ in rows)
    lines = [
        f"schakel bench ingest — {result['started']}, {m['nproc']} CPUs ({m['cpu_model']}), "
        f"Python {m['python']}, load {m['loadavg_1m']}",
        f"parameters: {par['devices']} devices, {par['seconds']:g} s/phase, "
        f"{par['workers']} load processes, window {par['window']}",
        "",
    ]
    lines += [f"  {label:<{width}}  {value}" for label, value in rows]
    lines.append("")
    for name, t in result["targets"].items():
        lines.append(f"  {'PASS' if t['pass'] else 'FAIL'}  {name}: {t['measured']} (target {t['target']})")
    return "\n".join(lines)
