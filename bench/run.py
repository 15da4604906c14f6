#!/usr/bin/env python3
"""Chamberlain against the reference `codex app-server` and a Trio echo floor, in one run.

    python3 bench/run.py                       # full run (a few minutes on 2 cores)
    python3 bench/run.py --quick               # fewer samples, 10 x 20 contention (about a minute)
    python3 bench/run.py --only write,big      # a subset (groups below)

Groups (``--only``, comma-separated; default all): start, read, pipelined, meta, write, big,
contention, kill, ws (N concurrent WebSocket clients). Each server runs with the same client
code; the reference runs first, so the echo floor can answer each method with a reply of the
reference's size. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Final

from client import Peer, ServerSpec, chamberlain_argv, find_reference, server_env
from contention import MAX_ATTEMPTS, Tally, run_contention
from figures import Bench, Figures, Lane, Plan
from fixtures import USER_CONFIG
from kills import BURST, KILL_WINDOW_S, KillTally, run_kills
from many import NS, ManyResult, many_json, many_notes, many_table, run_many
from report import as_json, contention_table, figures_table, kills_table, markdown, notes

HERE: Final = os.path.dirname(os.path.abspath(__file__))
GROUPS: Final = ("start", "read", "pipelined", "meta", "account", "write", "big", "contention", "kill", "ws")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="fewer samples and a 10 x 20 contention run")
    p.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated groups of {', '.join(GROUPS)}")
    p.add_argument("--servers", default="echo,chamberlain,reference",
                   help="comma-separated subset of echo,chamberlain,reference")
    p.add_argument("--requests", type=int, default=None, help="sequential config/read samples")
    p.add_argument("--starts", type=int, default=None, help="timed starts per case and server")
    p.add_argument("--procs", type=int, default=10, help="contention: server processes (default 10)")
    p.add_argument("--contention-writes", type=int, default=None,
                   help="contention: writes per process (default 100; 20 with --quick)")
    p.add_argument("--contention-cap", type=float, default=120.0,
                   help="contention: wall-time cap of one run in seconds, then kill (default 120)")
    p.add_argument("--kills", type=int, default=None,
                   help="kill: SIGKILL rounds per server (default 50; 20 with --quick)")
    p.add_argument("--chamberlain-cmd", default=None,
                   help="command line to run instead of `chamberlain app-server` (e.g. under a profiler)")
    p.add_argument("--budget", type=float, default=900.0, help="wall-time budget of the single-client "
                   "figures in seconds (default 900); loops past it are cut with a note")
    p.add_argument("--bytecode-as-is", action="store_true",
                   help="no scratch bytecode cache for the Python servers (see bench/README.md)")
    p.add_argument("--ws-clients", default=",".join(map(str, NS)),
                   help="ws: comma-separated numbers of concurrent WebSocket clients (default 1,10,100,1000)")
    p.add_argument("--ws-seconds", type=float, default=None,
                   help="ws: seconds of sequential reads per N and server (default 4; 2 with --quick)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH")
    p.add_argument("--keep", action="store_true", help="keep the scratch directory (homes, stderr logs)")
    return p.parse_args(argv)


def make_plan(args: argparse.Namespace, scratch: str) -> Plan:
    requests = args.requests or (300 if args.quick else 2000)
    return Plan(starts=args.starts or (2 if args.quick else 5), requests=requests,
                warmup=min(200, max(20, requests // 10)), pipelined=4 * requests,
                meta=max(50, requests // 2), writes=60 if args.quick else 300,
                big_writes={1000: 30, 10000: 10} if args.quick else {1000: 100, 10000: 30},
                phase_cap_s=8.0 if args.quick else 15.0, scratch=scratch,
                bytecode_cache=not args.bytecode_as_is)


def make_specs(args: argparse.Namespace, wanted: list[str]) -> tuple[list[ServerSpec], list[str]]:
    """Reference first (its reply sizes feed the echo floor), then Chamberlain, then the floor."""
    specs: list[ServerSpec] = []
    skipped: list[str] = []
    if "reference" in wanted:
        ref, why = find_reference()
        if ref is None:
            skipped.append(f"reference column skipped: {why}")
        else:
            specs.append(ServerSpec("reference", "reference 0.169.0", [ref, "app-server"]))
    if "chamberlain" in wanted:
        cmd = shlex.split(args.chamberlain_cmd) if args.chamberlain_cmd else chamberlain_argv()
        specs.append(ServerSpec("chamberlain", "Chamberlain", cmd, python=True))
    if "echo" in wanted:
        specs.append(ServerSpec("echo", "echo floor", [sys.executable, os.path.join(HERE, "echo_server.py")],
                                python=True))
    return specs, skipped


def spawner(bench: Bench, spec: ServerSpec) -> Callable[[str], Peer]:
    """Starts ``spec`` on a given home; each process gets its own stderr file next to the home."""
    def spawn(home: str) -> Peer:
        log = f"{home}.{len(os.listdir(os.path.dirname(home)))}.stderr"
        return Peer(spec.argv, server_env(home, bench.pycache(spec)), cwd=os.path.dirname(home), stderr_path=log)
    return spawn


def kills(bench: Bench, spec: ServerSpec, args: argparse.Namespace) -> KillTally:
    rounds = args.kills or (20 if args.quick else 50)
    print(f"-- kill: {spec.label}, {rounds} rounds", file=sys.stderr, flush=True)
    home = bench.home(f"{spec.key}-kill", USER_CONFIG)
    return run_kills(spawner(bench, spec), home, rounds, args.contention_cap)


def contention(bench: Bench, spec: ServerSpec, args: argparse.Namespace) -> dict[str, Tally]:
    writes = args.contention_writes or (20 if args.quick else 100)
    out: dict[str, Tally] = {}
    spawn = spawner(bench, spec)
    for mode in ("distinct", "cas"):
        home = bench.home(f"{spec.key}-contention-{mode}", USER_CONFIG)
        print(f"-- contention {mode}: {spec.label}, {args.procs} x {writes}", file=sys.stderr, flush=True)
        out[mode] = run_contention(spawn, home, mode, args.procs, writes, args.contention_cap)
    return out


def websockets(bench: Bench, specs: list[ServerSpec], args: argparse.Namespace, scratch: str) -> dict[str, ManyResult]:
    ns = tuple(int(x) for x in args.ws_clients.split(",") if x.strip())
    seconds = args.ws_seconds or (2.0 if args.quick else 4.0)
    print(f"-- ws: {', '.join(s.label for s in specs)}; N = {ns}, {seconds:.0f} s each", file=sys.stderr, flush=True)
    return run_many(specs, scratch, lambda spec, home, extra: server_env(home, bench.pycache(spec), extra),
                    USER_CONFIG, seconds, ns)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {g.strip() for g in args.only.split(",") if g.strip()}
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    bad = (only - set(GROUPS)) | (set(wanted) - {"echo", "chamberlain", "reference"})
    if bad:
        print(f"unknown group or server: {', '.join(sorted(bad))}", file=sys.stderr)
        return 2
    scratch = tempfile.mkdtemp(prefix="chamberlain-bench-")
    plan = make_plan(args, scratch)
    specs, skipped = make_specs(args, wanted)
    t_begin = time.monotonic()
    load = machine_state()
    bench = Bench(plan, only, budget_deadline=t_begin + args.budget)
    tallies: dict[str, dict[str, Tally]] = {}
    killed: dict[str, KillTally] = {}
    results: dict[str, Figures] = {}
    many: dict[str, ManyResult] = {}
    try:
        results = {spec.key: Figures(spec.key, spec.label, spec.argv) for spec in specs}
        source = results.get("reference") or results.get("chamberlain")
        bench.echo_sizes = source.sizes if source else {}     # filled as the phases go
        print(f"-- figures: {', '.join(spec.label for spec in specs)}", file=sys.stderr, flush=True)
        bench.run_all([Lane(spec, results[spec.key]) for spec in specs])
        if "ws" in only:
            many = websockets(bench, specs, args, scratch)
        for spec in specs:
            if "contention" in only and spec.key != "echo":
                tallies[spec.key] = contention(bench, spec, args)
        for spec in specs:
            if "kill" in only and spec.key != "echo":
                killed[spec.key] = kills(bench, spec, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print_report(args, plan, specs, skipped, results, tallies, killed, time.monotonic() - t_begin, load)
    if many:
        print()
        print("\n".join(many_table(many, markdown, tuple(int(x) for x in args.ws_clients.split(",")))))
        print("\n".join(many_notes(many)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({**as_json(results, tallies, killed), "ws": many_json(many)}, fh, indent=2)
    failed = any(r.failed for r in results.values()) or any(r.failed for r in many.values())
    return 1 if failed else 0


def machine_state() -> str:
    """Load average and, where the kernel has it, the share of time tasks waited on I/O (PSI)."""
    text = f"load average {os.getloadavg()[0]:.2f}"
    try:
        with open("/proc/pressure/io") as fh:
            some = fh.readline().split()
        text += f", I/O pressure {some[2].partition('=')[2]} % (avg10)"
    except (OSError, IndexError):
        pass
    return text


def print_report(args: argparse.Namespace, plan: Plan, specs: list[ServerSpec], skipped: list[str],
                 results: dict[str, Figures], tallies: dict[str, dict[str, Tally]],
                 killed: dict[str, KillTally], elapsed: float, load: str) -> None:
    print()
    print(f"Chamberlain bench — {os.cpu_count()} CPUs ({load} at the start; {machine_state()} at the end), "
          f"{elapsed:.0f} s, {'quick' if args.quick else 'full'} run; "
          f"{plan.starts} timed starts per case, {plan.requests} sequential reads, {plan.pipelined} pipelined, "
          f"{plan.meta} per metadata method, {plan.writes} small writes per method, "
          f"big-file writes {plan.big_writes}")
    for spec in specs:
        print(f"  {spec.label}: {shlex.join(spec.argv)}")
    for s in skipped:
        print(f"  {s}")
    cham = results.get("chamberlain")
    if cham and "pyc_files" in cham.values:
        print(f"  Python servers: bytecode cached — an untimed warm start filled a scratch PYTHONPYCACHEPREFIX "
              f"({cham.values['pyc_files']:.0f} .pyc files before the timed starts); "
              "'no .pyc' row: PYTHONDONTWRITEBYTECODE=1, no prefix")
    elif args.bytecode_as_is:
        print("  Python servers: environment's bytecode settings as they are")
    sized = "the reference" if "reference" in results else "Chamberlain"
    print(f"  echo floor replies are sized like {sized}'s reply to the same method on the same fixture")
    table = figures_table(results)
    if table:
        print()
        print("\n".join(table))
    if tallies:
        print()
        print("\n".join(contention_table(tallies)))
        print(f"  cas: on configVersionConflict sleep random 0..min(attempt,8) ms, re-read, retry; starved = "
              f"gave up after {MAX_ATTEMPTS} attempts")
    if killed:
        print()
        print("\n".join(kills_table(killed)))
        print(f"  each round: start, initialize, {BURST} pipelined batchWrites, SIGKILL after a random "
              f"0..{KILL_WINDOW_S * 1e3:.0f} ms")
    print()
    for line in notes(results, tallies, killed):
        print(line)


if __name__ == "__main__":
    sys.exit(main())
