"""The table: each figure for the echo floor, Chamberlain and the reference, the ratio
Chamberlain/reference, the target of issue 6 §4 and whether it is met."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any, Final

from contention import MAX_ATTEMPTS, Tally
from figures import Figures
from kills import KillTally


@dataclass(frozen=True)
class Row:
    label: str
    key: str
    stat: str            # p50 | p99 | median | value
    fmt: str
    unit: str
    target: str = ""     # "<= 0.8" or ">= 15": on the ratio Chamberlain/reference
    ref_key: str = ""    # compare with another figure of the reference


ROWS: Final = (
    Row("config/batchWrite p50, small file", "write_small_us", "p50", ",.0f", "µs", "<= 0.8"),
    Row("config/batchWrite p99, small file", "write_small_us", "p99", ",.0f", "µs"),
    Row("  durable replace of that file in the bench process (p50)", "fsync_floor_us", "p50", ",.0f", "µs"),
    Row("config/batchWrite p50, 1,000 keys", "write_k1000_us", "p50", ",.0f", "µs", "<= 0.5"),
    Row("config/batchWrite p50, 10,000 keys", "write_k10000_us", "p50", ",.0f", "µs", "<= 0.6"),
    Row("config/value/write p50", "value_write_us", "p50", ",.0f", "µs", "<= 0.8"),
    Row("config/read p50", "read_us", "p50", ",.0f", "µs", "<= 0.08"),
    Row("config/read p99", "read_us", "p99", ",.0f", "µs"),
    Row("server CPU per config/read", "read_cpu_us", "value", ",.0f", "µs"),
    Row("pipelined config/read, 64 in flight", "pipelined_rps", "value", ",.0f", "req/s", ">= 15"),
    Row("configRequirements/read p50", "requirements_us", "p50", ",.0f", "µs", "<= 0.2"),
    Row("experimentalFeature/list p50", "features_us", "p50", ",.0f", "µs", "<= 0.2"),
    Row("account/read p50 (API key)", "account_read_us", "p50", ",.0f", "µs", "<= 0.3"),
    Row("getAuthStatus p50 (API key)", "auth_status_us", "p50", ",.0f", "µs", "<= 0.3"),
    Row("account/login/start apiKey p50", "login_api_key_us", "p50", ",.0f", "µs", ""),
    Row("spawn → first config/read, fresh home", "start_fresh_ms", "median", ",.1f", "ms", "<= 0.8"),
    Row("spawn → first config/read, 10,000 keys", "start_k10000_ms", "median", ",.1f", "ms", "<= 1.0"),
    Row("spawn → initialize reply, fresh home", "start_init_ms", "median", ",.1f", "ms"),
    Row("  same, no .pyc (compiles src/ each start)", "start_nopyc_ms", "median", ",.1f", "ms",
        ref_key="start_fresh_ms"),
    Row("RSS after start-up", "rss_start_mib", "value", ".1f", "MiB"),
    Row("RSS after the session", "rss_end_mib", "value", ".1f", "MiB"),
)


def _pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def figure(f: Figures | None, key: str, stat: str) -> float | None:
    if f is None or f.failed:
        return None
    if stat == "value":
        return f.values.get(key)
    xs = f.samples.get(key)
    if not xs:
        return None
    if stat == "median":
        return statistics.median(xs)
    return _pct(xs, 50 if stat == "p50" else 99)


def _cell(v: float | None, fmt: str, unit: str) -> str:
    return "—" if v is None else f"{v:{fmt}} {unit}"


def _verdict(ratio: float, target: str) -> str:
    op, bound = target.split()
    ok = ratio <= float(bound) if op == "<=" else ratio >= float(bound)
    return "met" if ok else "MISSED"


def markdown(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [*rows, header]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"
    rule = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return [line(header), rule, *(line(r) for r in rows)]


def figures_table(results: dict[str, Figures]) -> list[str]:
    echo, cham, ref = results.get("echo"), results.get("chamberlain"), results.get("reference")
    header = ["figure", "echo floor", "Chamberlain", "reference 0.169.0", "Chamberlain/ref", "target", ""]
    rows: list[list[str]] = []
    for row in ROWS:
        mine = figure(cham, row.key, row.stat)
        theirs = figure(ref, row.ref_key or row.key, row.stat)
        if all(figure(x, row.key, row.stat) is None for x in (echo, cham, ref)):
            continue
        ratio = mine / theirs if mine is not None and theirs else None
        target = f"{row.target.replace('<=', '≤').replace('>=', '≥')}×" if row.target else ""
        rows.append([row.label, _cell(figure(echo, row.key, row.stat), row.fmt, row.unit),
                     _cell(mine, row.fmt, row.unit), _cell(figure(ref, row.key, row.stat), row.fmt, row.unit),
                     "—" if ratio is None else f"{ratio:.2f}×", target,
                     _verdict(ratio, row.target) if ratio is not None and row.target else ""])
    return markdown(header, rows) if rows else []


def contention_table(tallies: dict[str, dict[str, Tally]]) -> list[str]:
    """tallies: server key -> mode -> Tally."""
    servers = [(k, label) for k, label in (("chamberlain", "Chamberlain"), ("reference", "reference 0.169.0"))
               if k in tallies]
    if not servers:
        return []
    header = ["contention (P processes × W writes, one CODEX_HOME)"] + [label for _, label in servers] + ["target"]
    rows: list[list[str]] = []
    for mode, what in (("distinct", "distinct keys, no expectedVersion"),
                       ("cas", f"one counter, expectedVersion + retry (≤ {MAX_ATTEMPTS} attempts)")):
        ts = [tallies[k].get(mode) for k, _ in servers]
        if all(t is None for t in ts):
            continue
        some = next(t for t in ts if t is not None)
        rows.append([f"{what}: {some.procs} × {some.writes}, wall time"]
                    + [_cell(t.elapsed_s if t else None, ".2f", "s") for t in ts] + ["< 5 s"])
        rows.append(["  acknowledged / lost"]
                    + [f"{t.acked} / {t.lost if t.lost is not None else '—'}" if t else "—" for t in ts] + ["lost 0"])
        if mode == "cas":
            rows.append(["  starved / conflicts answered"]
                        + [f"{t.starved} / {t.conflicts}" if t else "—" for t in ts] + ["starved 0"])
        rows.append(["  other error replies"] + [str(t.errors) if t else "—" for t in ts] + [""])
    return markdown(header, rows)


def kills_table(killed: dict[str, KillTally]) -> list[str]:
    servers = [(k, label) for k, label in (("chamberlain", "Chamberlain"), ("reference", "reference 0.169.0"))
               if k in killed]
    ks = [killed[k] for k, _ in servers]
    header = ["SIGKILL during writes (one CODEX_HOME)"] + [label for _, label in servers] + ["target"]
    rows = [["rounds / killed before the burst's last reply"]
            + [f"{k.rounds} / {k.killed_mid_burst}" for k in ks] + [""],
            ["kills that left a temp file"] + [str(k.left_temp) for k in ks] + ["removed on next write or start"],
            ["config.toml broken (not old-or-new, whole)"] + [str(k.broken) for k in ks] + ["0"],
            ["temp files in the home after the rounds"] + [str(k.temp_after_rounds) for k in ks] + [""],
            ["temp files left after one more start + write"] + [str(k.temp_at_end) for k in ks] + ["0"],
            ["mode of config.toml at the end"] + [str(k.mode_at_end) for k in ks] + ["0o600"]]
    return markdown(header, rows)


def notes(results: dict[str, Figures], tallies: dict[str, dict[str, Tally]],
          killed: dict[str, KillTally]) -> list[str]:
    out: list[str] = []
    for f in results.values():
        out += [f"note ({f.label}): {n}" for n in f.notes]
        if f.first_error:
            out.append(f"note ({f.label}): first error reply: {f.first_error}")
        if f.failed:
            out.append(f"note ({f.label}): FAILED: {f.failed}")
        if "start_fresh_ms" in f.samples:
            each = ", ".join(f"{x:.0f}" for x in f.samples["start_fresh_ms"])
            out.append(f"note ({f.label}): spawn → first config/read, fresh home, each start: {each} ms")
        if f.rounds:
            out.append(f"note ({f.label}): pipelined rounds: "
                       + ", ".join(f"{r:,.0f}" for r in f.rounds) + " req/s")
    for key, modes in tallies.items():
        for t in modes.values():
            out += [f"note (contention {key} {t.mode}): {n}" for n in t.notes]
            if t.first_error:
                out.append(f"note (contention {key} {t.mode}): first error reply: {t.first_error}")
    for key, k in killed.items():
        out += [f"note (kill {key}): {n}" for n in k.notes]
    return out


def as_json(results: dict[str, Figures], tallies: dict[str, dict[str, Tally]],
            killed: dict[str, KillTally]) -> dict[str, Any]:
    figs = {k: {"label": f.label, "argv": f.argv, "failed": f.failed, "notes": f.notes,
                "values": f.values, "rounds": f.rounds, "reply_bytes": f.sizes,
                "stats": {row.key + "." + row.stat: figure(f, row.key, row.stat) for row in ROWS}}
            for k, f in results.items()}
    cont = {k: {m: {x: getattr(t, x) for x in ("procs", "writes", "elapsed_s", "acked", "lost", "starved",
                                                   "conflicts", "errors", "notes")}
                    for m, t in modes.items()} for k, modes in tallies.items()}
    kill = {k: vars(t) for k, t in killed.items()}
    return {"figures": figs, "contention": cont, "kill": kill}
