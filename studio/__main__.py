"""`python -m studio` / `badger-studio`: serve the dashboard on 127.0.0.1:8765."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from runner import store

from .app import STATIC_DIR, App, Config
from .server import make_server


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="badger-studio", description="The Badger Tape Studio dashboard.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else exposes the launcher)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--root", default=None, help="data root holding sessions/ and logs/ (default: STUDIO_ROOT or .)")
    p.add_argument("--static", default=str(STATIC_DIR), help=argparse.SUPPRESS)
    p.add_argument("--no-launcher", action="store_true", help="read-only: refuse to start, approve or resume runs")
    p.add_argument("--max-runs", type=int, default=1, help="runs the launcher may have going at once (default 1)")
    p.add_argument("--verbose", action="store_true", help="log each request and any server error to stderr")
    return p.parse_args(argv)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.max_runs < 1:
        print("badger-studio: --max-runs must be at least 1", file=sys.stderr)
        return 2
    root = store.data_root(args.root)
    if not root.is_dir():
        print(f"badger-studio: data root {root} is not a folder", file=sys.stderr)
        return 2
    if not _is_loopback(args.host):
        print(f"badger-studio: warning: binding {args.host} makes the dashboard reachable from other "
              "machines; the Host check and token still apply", file=sys.stderr)
    config = Config(root=root, static_dir=Path(args.static), host=args.host, port=args.port,
                    launcher=not args.no_launcher, max_runs=args.max_runs, quiet=not args.verbose)
    app = App(config)
    try:
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        print(f"badger-studio: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    app.warm_up()
    host = f"[{app.config.host}]" if ":" in app.config.host else app.config.host
    # The first line is the address, so scripts (and bench/studio.py) can read it.
    print(f"http://{host}:{app.config.port}/", flush=True)
    print(f"serving {app.redactor.text(str(root))} (pid {os.getpid()}); Ctrl-C stops", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
