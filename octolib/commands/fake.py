"""``octo fake-api``: run the local EmailOctopus account in the foreground until Ctrl-C.

For trying the product without a key, and for tests that need the server in another
process (drive it through ``/_fake/advance``, ``/_fake/faults`` and ``/_fake/stats``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from octolib.fake import DEMO_API_KEY, SIZES, FakeAccount, FakeServer, Faults
from octolib.fake.account import resolve_size


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "fake-api", help="run a local fake EmailOctopus API v2 (seeded demo account) until Ctrl-C",
        description="Serve a generated EmailOctopus account on 127.0.0.1 over HTTP, like API v2.",
    )
    p.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port; default 8765)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--seed", type=int, default=7, help="account seed: same seed, same data (default 7)")
    p.add_argument("--size", default="demo", type=_size, metavar="SIZE",
                   help=f"account size: {', '.join(SIZES)} or <N>x, N times demo (default demo)")
    p.add_argument("--latency", type=float, default=0.0, metavar="S", help="seconds added to every request")
    p.add_argument("--rate-per-s", type=float, default=10.0, help="server-side token refill per second (default 10)")
    p.add_argument("--burst", type=int, default=100, help="server-side bucket size (default 100)")
    p.add_argument("--api-key", default=DEMO_API_KEY, help="the key clients must send (default: the demo key)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    account = FakeAccount.generate(seed=args.seed, size=args.size)
    server = FakeServer(account, api_key=args.api_key, faults=Faults(latency_s=args.latency),
                        rate_per_s=args.rate_per_s, burst=args.burst, host=args.host, port=args.port)
    server.start()
    print(f"fake EmailOctopus API on {server.base_url}  ({account!r})", flush=True)
    print(f"export OCTO_API_BASE={server.base_url}", flush=True)
    print(f"export OCTO_API_KEY={args.api_key}", flush=True)
    print("Ctrl-C to stop", flush=True)
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        signal.signal(signal.SIGTERM, _interrupt)  # `kill <pid>` stops it as cleanly as Ctrl-C
        # A process started with SIGINT ignored (a background job of a non-interactive shell, as
        # `cmd &` in a CI script) inherits that, and Python then never raises KeyboardInterrupt:
        # "Ctrl-C to stop" (or kill -INT) did nothing and the server ran on. Say what SIGINT means.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    if in_main:
        _exit_now(0)
    return 0


def _size(text: str) -> str:
    """Check ``--size`` before anything starts (a one-line usage error, not a traceback)."""
    try:
        resolve_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _exit_now(code: int) -> None:
    """End the process at once, skipping the interpreter's teardown.

    Why: the server is stopped (socket closed, every connection shut) and nothing is left
    to clean up, but ``octo`` has imported ~600 modules (numpy, pymongo, requests, every
    command), and tearing them down is pure CPU: 0.01 s for a bare interpreter, 0.3-1.2 s
    for this one on a loaded 2-core machine, and 2.3 s with two more busy processes
    (measured from SIGINT to exit; ``FakeServer.stop`` itself took 10-30 ms). On a machine
    busy enough, a Ctrl-C'd ``octo fake-api`` took over 10 s to go away. Output is flushed
    first, so nothing printed is lost.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
