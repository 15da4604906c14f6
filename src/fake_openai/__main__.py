"""``python -m chamberlain.fake_openai --port N [--host H] [--log]``.

Prints the bound base URL on stdout as one line (then flushes), and serves until interrupted.
With ``--log`` every request is echoed on stderr as ``METHOD path -> status`` (no bodies, no
headers: the demo's terminal stays free of tokens).
"""

from __future__ import annotations

import argparse
import functools
import sys

import trio

from .server import FakeOpenAI
from .wire import HttpRequest

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m chamberlain.fake_openai",
                                     description="Fake OAuth issuer and ChatGPT backend on loopback HTTP.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (0: any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--log", action="store_true", help="echo each request on stderr")
    parser.add_argument("--device-interval", type=int, default=1, metavar="S",
                        help="polling interval the device user code announces, seconds (default 1)")
    return parser


async def _serve(args: argparse.Namespace) -> None:
    fake = FakeOpenAI(host=args.host, port=args.port, device_interval_s=args.device_interval)
    async with trio.open_nursery() as nursery:
        await nursery.start(fake.run)
        print(fake.base_url, flush=True)
        if args.log:
            nursery.start_soon(_echo, fake)


def _answered(index: int, log: list[HttpRequest]) -> bool:
    return len(log) > index and log[index].status is not None


async def _echo(fake: FakeOpenAI) -> None:
    shown = 0
    while True:
        await fake.wait_until(functools.partial(_answered, shown))
        req = fake.requests[shown]
        print(f"{req.method} {req.path} -> {req.status}", file=sys.stderr, flush=True)
        shown += 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        trio.run(_serve, args)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
