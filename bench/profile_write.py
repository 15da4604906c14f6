#!/usr/bin/env python3
"""Where one `config/batchWrite` spends its time in Chamberlain: the server under cProfile.

    python3 bench/profile_write.py                    # 300 writes on the small fixture
    python3 bench/profile_write.py --keys 1000 --writes 50
    python3 bench/profile_write.py --pyspy            # sampled with py-spy, every thread (pip install py-spy)
    python3 bench/profile_write.py --strace           # syscall counts per write instead (strace -c -f)

Starts `python -m cProfile -o <file> -m chamberlain app-server` (only the command line, no
Chamberlain import here) on a scratch CODEX_HOME, makes a few warm-up writes, then N writes of one
edit (alternating values, so every write changes the file), closes stdin so the server exits and
writes its profile, and prints the functions by own time and by cumulative time, per write.
cProfile sees only the main thread: work that Chamberlain hands to a worker thread
(`trio.to_thread.run_sync`) shows up as time in `epoll.poll`; `--pyspy` samples every thread (2,000
samples/s, idle threads left out) and prints, per function, µs per write inclusive and own.
Profiling costs time itself (cProfile roughly doubles pure-Python costs), so compare the shares,
not the absolute figures, with bench/run.py.
"""
from __future__ import annotations

import argparse
import collections
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time

from client import Peer, server_env
from fixtures import USER_CONFIG, WRITE_VALUES, batch_edit, big_config, big_key


def drive(argv: list[str], home: str, key: str, values: tuple[str, str], warmup: int, writes: int,
          attach: list[str] | None = None) -> float:
    """``attach``: a sampler command line, run with the server's pid appended after the warm-up."""
    peer = Peer(argv, server_env(home), cwd=os.path.dirname(home), stderr_path=home + ".stderr")
    sampler = None
    try:
        peer.initialize()
        for i in range(warmup):
            peer.rpc("config/batchWrite", batch_edit(key, values[i % 2]), timeout_s=60.0)
        if attach is not None:
            sampler = subprocess.Popen([*attach, str(peer.pid)], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            time.sleep(1.0)                  # py-spy attaches
        t0 = time.perf_counter()
        for i in range(writes):
            peer.rpc("config/batchWrite", batch_edit(key, values[i % 2]), timeout_s=60.0)
        elapsed = time.perf_counter() - t0
        if peer.errors:
            print(f"error replies: {peer.errors}: {peer.first_error!r}", file=sys.stderr)
    finally:
        peer.close()
        if sampler is not None:
            sampler.wait(timeout=30)
    return elapsed


def _short(frame: str) -> str:
    """`func (path:line)` -> `func (short path)`: one entry per function."""
    frame = re.sub(r":\d+\)$", ")", frame)
    for marker in ("/chamberlain/", "/site-packages/", "/lib/python3.11/"):
        head, sep, tail = frame.partition(marker)
        if sep:
            return head.split(" (")[0] + " (" + (marker.strip("/") + "/" if marker == "/chamberlain/" else "") + tail
    return frame


def print_pyspy(path: str, writes: int, rate: int, top: int) -> None:
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = idle = 0
    with open(path) as fh:
        for line in fh:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_short(f) for f in stack.split(";")]
            if any("importlib._bootstrap" in f for f in frames):      # imports: not the writes
                continue
            if frames[-1].startswith("EpollIOManager.get_events"):   # the event loop waiting
                idle += n
                continue
            total += n
            for f in set(frames):
                inclusive[f] += n
            own[frames[-1]] += n
    per_write = 1e6 / rate / writes
    print(f"{total} samples outside imports = {total * per_write:,.0f} µs per write on CPU or in a system call "
          f"(all threads; plus {idle * per_write:,.0f} µs of the event loop waiting in epoll, left out)")
    for title, counter in (("inclusive", inclusive), ("own", own)):
        print(f"\n-- by {title} time: µs per write, share of the samples --")
        for f, n in counter.most_common(top):
            print(f"{n * per_write:9,.1f} µs {100 * n / max(1, total):5.1f} %  {f}")


def print_strace(table: str, writes: int) -> None:
    """strace -c's table with a column of calls per write (start-up included, so an upper bound)."""
    for line in table.splitlines():
        cells = line.split()
        if len(cells) >= 5 and cells[3].isdigit():
            print(f"{line}   {int(cells[3]) / writes:7.2f} per write")
        else:
            print(line)


def main() -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--keys", type=int, default=0, help="keys in config.toml (0: the small fixture)")
    p.add_argument("--writes", type=int, default=300)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--strace", action="store_true", help="strace -c -f the server instead of cProfile")
    p.add_argument("--pyspy", action="store_true", help="py-spy record (all threads) instead of cProfile")
    p.add_argument("--rate", type=int, default=2000, help="py-spy samples per second")
    p.add_argument("--python", default=sys.executable, help="the interpreter that has chamberlain installed")
    args = p.parse_args()
    scratch = tempfile.mkdtemp(prefix="chamberlain-profile-")
    try:
        home = os.path.join(scratch, "codex-home")
        os.mkdir(home)
        with open(os.path.join(home, "config.toml"), "w") as fh:
            fh.write(big_config(args.keys) if args.keys else USER_CONFIG)
        attach: list[str] = []
        key = big_key(args.keys) if args.keys else "model"
        values = ("edit 0", "edit 1") if args.keys else WRITE_VALUES
        server = [args.python, "-m", "chamberlain", "app-server"]
        if args.strace:
            out = os.path.join(scratch, "strace.txt")
            argv = ["strace", "-f", "-c", "-o", out, *server]
        elif args.pyspy:
            out = os.path.join(scratch, "pyspy.txt")
            pyspy = shutil.which("py-spy") or os.path.join(os.path.dirname(args.python), "py-spy")
            attach = [pyspy, "record", "--nonblocking", "-r", str(args.rate), "-f", "raw", "-o", out, "--pid"]
            argv = server
        else:
            out = os.path.join(scratch, "write.prof")
            argv = [args.python, "-m", "cProfile", "-o", out, "-m", "chamberlain", "app-server"]
        elapsed = drive(argv, home, key, values, 5, args.writes, attach if args.pyspy else None)
        tool = "strace" if args.strace else "py-spy" if args.pyspy else "cProfile"
        print(f"{args.writes} writes ({args.keys or 'small'} keys) in {elapsed:.2f} s: "
              f"{elapsed / args.writes * 1e6:,.0f} µs per write under {tool} "
              f"(5 warm-up writes, start-up and the warm-up are in the counts too)")
        if args.strace:
            with open(out) as fh:
                print_strace(fh.read(), args.writes + 5)
        elif args.pyspy:
            print_pyspy(out, args.writes, args.rate, args.top)
        else:
            stats = pstats.Stats(out)
            stats.sort_stats("tottime").print_stats(args.top)
            stats.sort_stats("cumulative").print_stats(args.top)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
