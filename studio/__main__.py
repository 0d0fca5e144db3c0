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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a whole number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be from 0 to 65535, got {port}")
    return port


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = _Parser(prog="badger-studio", description="The Badger Tape Studio dashboard.")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to bind (default 127.0.0.1; anything else exposes the launcher)")
    p.add_argument("--port", type=_port, default=8765, help="port (default 8765; 0 picks a free one)")
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


def _raise_descriptor_limit(want: int = 16384) -> None:
    """Each waiting connection holds a descriptor; a soft limit of 1024 would cap them there."""
    try:
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        if soft != resource.RLIM_INFINITY and soft < target:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ImportError, ValueError, OSError):
        pass   # not Unix, or not allowed: the gate still caps what it holds


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
    _raise_descriptor_limit()
    try:
        server = make_server(app, args.host, args.port)
    except (OSError, OverflowError, UnicodeError) as exc:  # busy port, unknown host, bad address
        reason = getattr(exc, "strerror", None) or str(exc)
        print(f"badger-studio: cannot listen on {args.host}:{args.port}: {reason}", file=sys.stderr)
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
