"""The `ws` group: N = 1, 10, 100, 1,000 WebSocket clients on one server at once (issue 8).

Each server runs with ``--listen ws://127.0.0.1:0`` on a scratch home holding the small fixture.
For each N, the servers in turn (reference, Chamberlain, echo floor): N connections are opened and
initialized; then **one read on each at once** (every connection sends one ``config/read``, every
reply counted: results and ``-32001``); then **sequential reads** for a fixed time (each connection
sends ``config/read``, waits for its reply, sends the next): aggregate requests/s and the p50/p99
of every round trip; ``VmRSS`` with the N connections open, and per connection
(RSS at N - RSS at N = 1) / (N - 1). The connections are closed before the next server's turn.
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from client import BenchError, ServerSpec
from wsclients import Clients, WsServer, raise_fd_limit, start_ws_server, text_frame

NS: Final = (1, 10, 100, 1000)
SETTLE_S: Final = 0.3
STEP_CAP_S: Final = 60.0


@dataclass
class Step:
    n: int
    rps: float = 0.0
    p50_us: float = 0.0
    p99_us: float = 0.0
    rss_kib: int = 0
    burst_results: int = 0
    burst_overloaded: int = 0
    burst_p99_us: float = 0.0
    errors: int = 0             # other error replies
    overloaded: int = 0         # -32001 in the sequential loop
    first_error: str | None = None


@dataclass
class ManyResult:
    key: str
    label: str
    steps: dict[int, Step] = field(default_factory=dict)
    failed: str | None = None
    notes: list[str] = field(default_factory=list)

    def per_conn_kib(self, n: int) -> float | None:
        one, step = self.steps.get(1), self.steps.get(n)
        if n <= 1 or one is None or step is None:
            return None
        return (step.rss_kib - one.rss_kib) / (n - 1)


def _pct(xs: list[int], p: float) -> float:
    s = sorted(xs)
    return float(s[max(0, math.ceil(p / 100 * len(s)) - 1)]) if s else 0.0


def one_step(server: WsServer, n: int, seconds: float) -> Step:
    step = Step(n)
    clients = Clients(server.host, server.port, n, STEP_CAP_S)
    try:
        clients.initialize_all()
        burst = clients.burst()
        step.burst_results, step.burst_overloaded = burst.results, burst.overloaded
        step.burst_p99_us = _pct(burst.latencies_ns, 99) / 1e3
        time.sleep(SETTLE_S)
        step.rss_kib = server.rss_kib()
        tally, elapsed = clients.sequential(seconds)
        step.rps = tally.results / elapsed
        step.p50_us, step.p99_us = _pct(tally.latencies_ns, 50) / 1e3, _pct(tally.latencies_ns, 99) / 1e3
        step.errors = tally.other_errors + burst.other_errors
        step.overloaded = tally.overloaded
        first = burst.first_error or tally.first_error
        step.first_error = first.decode(errors="replace") if first else None
        step.rss_kib = max(step.rss_kib, server.rss_kib())
    finally:
        clients.close()
    return step


def reply_sizes(server: WsServer) -> dict[str, int]:
    """The length of the server's initialize and config/read replies (for the echo floor), as the
    stdio echo counts them (with a newline)."""
    clients = Clients(server.host, server.port, 1, STEP_CAP_S)
    try:
        init = {"clientInfo": {"name": "chamberlain_bench", "version": "1.0"}}
        return {method: len(clients.call(text_frame(json.dumps(
                    {"id": 1, "method": method, "params": params}).encode()))) + 1
                for method, params in (("initialize", init), ("config/read", {}))}
    finally:
        clients.close()


Env = Callable[[ServerSpec, str, dict[str, str]], dict[str, str]]


def run_many(specs: list[ServerSpec], scratch: str, env_for: Env, fixture: str,
             seconds: float, ns: tuple[int, ...] = NS) -> dict[str, ManyResult]:
    """Every server of ``specs`` (the reference first: its reply sizes feed the echo floor)."""
    raise_fd_limit()
    results = {s.key: ManyResult(s.key, s.label) for s in specs}
    servers: dict[str, WsServer] = {}
    sizes: dict[str, int] = {}
    try:
        for spec in specs:
            home = os.path.join(scratch, f"ws-{spec.key}")
            os.makedirs(home, exist_ok=True)
            with open(os.path.join(home, "config.toml"), "w") as fh:
                fh.write(fixture)
            extra = {"BENCH_ECHO_SIZES": json.dumps(sizes)} if spec.key == "echo" else {}
            try:
                servers[spec.key] = start_ws_server(spec.argv, env_for(spec, home, extra), scratch,
                                                    f"{home}.stderr")
                if spec.key != "echo" and not sizes:
                    sizes = reply_sizes(servers[spec.key])
            except (BenchError, OSError) as exc:
                results[spec.key].failed = f"{type(exc).__name__}: {exc}"
        for n in ns:
            for spec in specs:
                res, server = results[spec.key], servers.get(spec.key)
                if server is None or res.failed:
                    continue
                print(f"-- ws: {spec.label}, {n} clients", file=sys.stderr, flush=True)
                try:
                    res.steps[n] = one_step(server, n, seconds)
                except (BenchError, OSError) as exc:
                    res.failed = f"N = {n}: {type(exc).__name__}: {exc}"
    finally:
        for server in servers.values():
            server.stop()
    return results


def _cell(v: float | None, fmt: str, unit: str) -> str:
    return "—" if v is None else f"{v:{fmt}} {unit}"


def many_table(results: dict[str, ManyResult], markdown: Callable[[list[str], list[list[str]]], list[str]],
               ns: tuple[int, ...] = NS) -> list[str]:
    echo, cham, ref = (results.get(k) for k in ("echo", "chamberlain", "reference"))
    header = ["WebSocket: N clients, sequential config/read", "echo floor", "Chamberlain", "reference 0.169.0",
              "Chamberlain/ref", "target", ""]
    rows: list[list[str]] = []

    def get(r: ManyResult | None, n: int, what: str) -> float | None:
        if r is None or n not in r.steps:
            return None
        if what == "per_conn":
            return r.per_conn_kib(n)
        return float(getattr(r.steps[n], what))

    def row(label: str, n: int, what: str, fmt: str, unit: str, target: str = "") -> None:
        mine, theirs = get(cham, n, what), get(ref, n, what)
        if all(get(x, n, what) is None for x in (echo, cham, ref)):
            return
        ratio = mine / theirs if mine is not None and theirs else None
        verdict = ""
        if ratio is not None and target:
            op, bound = target.split()
            verdict = "met" if (ratio <= float(bound) if op == "<=" else ratio >= float(bound)) else "MISSED"
        shown = f"{target.replace('<=', '≤').replace('>=', '≥')}×" if target else ""
        rows.append([label, _cell(get(echo, n, what), fmt, unit), _cell(mine, fmt, unit),
                     _cell(theirs, fmt, unit), "—" if ratio is None else f"{ratio:.2f}×", shown, verdict])

    for n in ns:
        row(f"N = {n:,}: requests/s", n, "rps", ",.0f", "req/s", ">= 3" if n == 100 else "")
        row(f"N = {n:,}: p50 / round trip", n, "p50_us", ",.0f", "µs")
        row(f"N = {n:,}: p99", n, "p99_us", ",.0f", "µs")
        row(f"N = {n:,}: one read on each at once, answered", n, "burst_results", ",.0f", "")
        row(f"N = {n:,}: … of them -32001", n, "burst_overloaded", ",.0f", "")
        row(f"N = {n:,}: … p99 of those", n, "burst_p99_us", ",.0f", "µs")
        row(f"N = {n:,}: RSS", n, "rss_kib", ",.0f", "KiB")
        if n > 1:
            row(f"N = {n:,}: RSS per connection", n, "per_conn", ",.1f", "KiB", "<= 0.3" if n == max(ns) else "")
    out = markdown(header, rows) if rows else []
    big = max(ns)
    if cham is not None and big in cham.steps and big >= 1000:
        s = cham.steps[big]
        out.append(f"  target at N = {big:,}: every client answered (one read on each at once: "
                   f"{s.burst_results:,} of {big:,}: {'met' if s.burst_results == big else 'MISSED'}) with p99 "
                   f"< 50 ms (p99 of that burst {s.burst_p99_us / 1e3:.1f} ms, of the sequential reads "
                   f"{s.p99_us / 1e3:.1f} ms: {'met' if max(s.burst_p99_us, s.p99_us) < 50_000 else 'MISSED'})")
    return out


def many_json(results: dict[str, ManyResult]) -> dict[str, object]:
    return {k: {"label": r.label, "failed": r.failed, "notes": r.notes,
                "steps": {str(n): {**vars(s), "rss_per_connection_kib": r.per_conn_kib(n)} for n, s in r.steps.items()}}
            for k, r in results.items()}


def many_notes(results: dict[str, ManyResult]) -> list[str]:
    out: list[str] = []
    for r in results.values():
        out += [f"note (ws {r.label}): {n}" for n in r.notes]
        if r.failed:
            out.append(f"note (ws {r.label}): FAILED: {r.failed}")
        for s in r.steps.values():
            if s.overloaded:
                out.append(f"note (ws {r.label}): N = {s.n}: {s.overloaded:,} of the sequential reads answered "
                           "-32001 (not counted in requests/s)")
            if s.errors:
                out.append(f"note (ws {r.label}): N = {s.n}: {s.errors} error replies in the sequential loop; "
                           f"first: {s.first_error}")
    return out
