"""`python -m runner` / `badger-tape`: thin wrappers over runner.sessions and runner.store.

Exit codes: 0 completed (or awaiting review under --review, or nothing to do), 1 failed,
2 bad input, 3 halted by the spend cap, 4 interrupted, 5 needs attention (a paid request's
outcome is unknown: a person checks it, then resumes with --resend or --resend-all).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Sequence

from . import budget, config, disk, library, metadata, sessions, store

EXIT = {"completed": 0, "awaiting_review": 0, "failed": 1, "halted_budget": 3, "interrupted": 4,
        "needs_attention": 5}
EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see --help)\n")


def _root_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--root", metavar="DIR",
                   help="data root holding sessions/ and logs/ (default: $STUDIO_ROOT or the current directory)")


# What `estimate` validates in place of a theme it was not given: the price never depends on it.
ESTIMATE_THEME = "estimate"


def _run_options(p: argparse.ArgumentParser, *, theme_required: bool = True) -> None:
    d = store.DEFAULTS
    p.add_argument("--theme", required=theme_required,
                   help=f"what the video is about (1-{store.MAX_THEME_CHARS} characters)"
                   + ("" if theme_required else "; optional, the price does not depend on it"))
    p.add_argument("--season", default=d["season"], help=f"{'|'.join(store.SEASONS)} (default {d['season']})")
    p.add_argument("--atmosphere", default=d["atmosphere"],
                   help=f"ambience under the music: {'|'.join(store.ATMOSPHERES)} (default {d['atmosphere']})")
    p.add_argument("--minutes", default=d["minutes"],
                   help="length of the final video (default 60, max 720); with --music, auto: the playlist's length")
    p.add_argument("--tracks", default=d["tracks"],
                   help=f"number of distinct tracks, 1-{store.MAX_TRACKS}, or auto: one per 2.5 minutes (default auto)")
    p.add_argument("--cap", default=d["cap"], help="hard spend cap in US dollars (default 2.00)")
    p.add_argument("--provider", default=d["provider"],
                   help="local (no keys, no network, $0) or fal (paid; needs FAL_KEY) (default local)")
    p.add_argument("--privacy", default=d["privacy"], help="YouTube privacy: private|unlisted|public (default private)")
    p.add_argument("--no-upload", dest="upload", action="store_false", help="stop after metadata; never upload")
    p.add_argument("--review", action="store_true", help="stop before upload until `approve` is run")
    p.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    own = p.add_argument_group("your own files (checked before anything is made or paid; see docs/format.md)")
    own.add_argument("--music", metavar="DIR|PLAYLIST",
                     help="your tracks instead of made ones: a folder (natural order of names) or a playlist "
                          "(M3U, or one path a line); MP3, WAV, FLAC, M4A/AAC, OGG/Opus")
    own.add_argument("--artwork", metavar="FILE", help="your picture as the cover (PNG, JPEG or WebP, at least 640x360)")
    own.add_argument("--loop", metavar="FILE", help="your video loop (MP4, MOV or WebM, at least 2 s)")
    own.add_argument("--fit", metavar="cover|contain",
                     help="bring --artwork/--loop to 1920x1080 by cropping (cover, the default) or with black bars (contain)")
    own.add_argument("--license-note", metavar="TEXT", help="the licence or a note on your files, kept in provenance.json")
    _root_option(p)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m runner", description="Badger Tape Studio: theme in, hour-long lofi video out.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    p = sub.add_parser("run", help="start a new session and run it to the end",
                       description="Start a session: prints its id first, then progress, then a summary.")
    _run_options(p)
    p.add_argument("--library-only", action="store_true",
                   help="read only files inside the data root's library/ folder, also those a playlist or a "
                        "folder's links lead to (the studio's launcher passes this)")

    p = sub.add_parser("resume", help="continue an interrupted, failed or halted session")
    p.add_argument("id")
    p.add_argument("--cap", type=float, help="raise the spend cap before continuing (after a halt)")
    p.add_argument("--resend", action="append", default=[], metavar="CALL",
                   help="after needs_attention: send this paid request again (its id or label, as the message "
                        "names it; repeatable); the first one stays counted as possibly spent")
    p.add_argument("--resend-all", action="store_true",
                   help="after needs_attention: send every request whose outcome is unknown again")
    _root_option(p)

    p = sub.add_parser("approve", help="upload a session that is awaiting review")
    p.add_argument("id")
    p.add_argument("--privacy", help="private|unlisted|public (default: the run's own)")
    _root_option(p)

    p = sub.add_parser("list", help="list sessions, newest first")
    p.add_argument("--json", action="store_true", help="print JSON")
    _root_option(p)

    p = sub.add_parser("show", help="show one session")
    p.add_argument("id")
    p.add_argument("--json", action="store_true", help="print the state as JSON")
    _root_option(p)

    p = sub.add_parser("estimate", help="what a run would cost, per asset, against its cap (exit 1 when over)")
    _run_options(p, theme_required=False)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("monitor", help="watch a session live in the terminal")
    p.add_argument("id", nargs="?", help="session id (default: the newest running, else the newest)")
    p.add_argument("--once", action="store_true", help="print one snapshot and exit")
    p.add_argument("--follow", action="store_true", help="watch until the session ends; exit code tells how")
    _root_option(p)

    p = sub.add_parser("auth", help="authorise an account (youtube)")
    p.add_argument("service", help="youtube")
    p.add_argument("--plan", metavar="PLAN",
                   help="a series plan: when it names a playlist, ask for the wider youtube scope too "
                        "(default: series.toml in the data root, if there is one)")
    _root_option(p)

    p = sub.add_parser("prune", help="free the disk that completed sessions no longer need (tracks, mix, ambience)",
                       description="Removes the intermediates of completed sessions; see docs/format.md.")
    p.add_argument("--older-than", default="14d", metavar="AGE",
                   help="only sessions finished longer ago than this: 14d, 12h, 30m, 0 (default 14d)")
    p.add_argument("--keep", default="finals", metavar="finals|all|none",
                   help="finals: keep final.mp4, the loop and cover (default); all: remove only scratch left by "
                        "killed runs; none: also final.mp4 and the loop of sessions already uploaded")
    p.add_argument("--dry-run", action="store_true", help="say what would be removed, remove nothing")
    p.add_argument("--json", action="store_true", help="print JSON")
    _root_option(p)

    p = sub.add_parser("series", help="a channel's series plan: check it, or make what is due",
                       description="A series plan (series.toml) names a channel's defaults and entries; "
                                   "see docs/series.md.")
    series_sub = p.add_subparsers(dest="series_command", metavar="check|run", parser_class=Parser)
    series_sub.required = True
    q = series_sub.add_parser("check", help="validate a plan and print its calendar with the estimated spend")
    q.add_argument("plan", metavar="PLAN", help="the plan file, e.g. series.toml")
    _root_option(q)
    q = series_sub.add_parser("run", help="make the entries that are due; safe to run from cron again and again")
    q.add_argument("plan", metavar="PLAN", help="the plan file, e.g. series.toml")
    q.add_argument("--ahead", type=int, metavar="DAYS",
                   help="make entries up to DAYS days before their publish date (default: the plan's ahead)")
    _root_option(q)
    return parser


def _params(args: argparse.Namespace) -> dict[str, Any]:
    raw = {k: getattr(args, k) for k in ("theme", "season", "atmosphere", "minutes", "tracks", "cap",
                                         "provider", "privacy", "upload", "review", "music", "artwork", "loop",
                                         "fit", "license_note")}
    params = store.validate_params(raw)
    if getattr(args, "seed", None) is not None:
        params["seed"] = args.seed
    return params


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        root = store.data_root(args.root)
        config.load_env(root)
        return COMMANDS[args.command](args, root)
    except store.InvalidParams as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (sessions.SessionError, library.BadInput) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT["interrupted"]
    except OSError as exc:  # a disk that took no more, met outside any step (the steps say it themselves)
        code = disk.disk_errno(exc)
        if code is None:
            raise
        print(f"error: {os.strerror(code)}: {exc.filename or ''} ({disk.mount_point(Path(exc.filename or '.'))}); "
              "free some space, then run the command again", file=sys.stderr)
        return EXIT["failed"]


# ----------------------------------------------------------------------------- commands

def cmd_run(args: argparse.Namespace, root: Path) -> int:
    params = _params(args)
    sessions.check_root_writable(root)
    sessions.check_ffmpeg()
    sessions.check_provider_keys(params, os.environ)
    own = None
    if any(params.get(k) for k in store.OWN_FILES):
        own = library.check(root, params, library_only=args.library_only)
        params = library.resolve(params, own)
    sessions.check_disk_space(root, params)
    from .providers import registry  # noqa: PLC0415

    providers = registry.build(params)
    state = sessions.create(root, params, own=own.as_state() if own else None)
    print(state["id"], flush=True)
    est = budget.estimate(params, elevenlabs=bool(os.environ.get("ELEVENLABS_API_KEY")))
    print(f"  {params['theme']!r}: {params['minutes']:.4g} min, {metadata.count(params['tracks'], 'track')}"
          f"{' of yours' if params.get('music') else ''}, {params['provider']} "
          f"provider, estimate ${est['total_usd']:.2f} of ${params['cap']:.2f} cap", flush=True)
    status = sessions.execute(root, state, providers, echo=sys.stdout)
    return _summary(root, state["id"], status, review=params["review"])


def cmd_resume(args: argparse.Namespace, root: Path) -> int:
    try:
        state = sessions.prepare_resume(root, args.id, cap=args.cap)
    except sessions.AlreadyDone as done:
        print(done)
        return 0
    resend = sessions.resolve_resend(root, args.id, args.resend, args.resend_all)
    sessions.check_ffmpeg()
    sessions.check_provider_keys(state["params"], os.environ)
    sessions.check_disk_space(root, state["params"], session=args.id)
    from .providers import registry  # noqa: PLC0415

    providers = registry.build(state["params"])
    print(state["id"], flush=True)
    print(f"  resuming: {', '.join(s for s in store.STEPS if state['steps'][s]['status'] not in ('done', 'skipped'))}",
          flush=True)
    status = sessions.execute(root, state, providers, echo=sys.stdout, resend=resend)
    return _summary(root, state["id"], status, review=True)


def cmd_approve(args: argparse.Namespace, root: Path) -> int:
    state = sessions.prepare_approve(root, args.id, privacy=args.privacy)
    from .providers import registry  # noqa: PLC0415

    providers = registry.build(state["params"])
    print(state["id"], flush=True)
    status = sessions.execute(root, state, providers, echo=sys.stdout)
    return _summary(root, state["id"], status, review=False)


def _summary(root: Path, sid: str, status: str, *, review: bool) -> int:
    state = store.read_state(root, sid) or {}
    cost = state.get("cost") or {}
    final = store.session_dir(root, sid) / "final.mp4"
    print()
    print(f"  status   {status}")
    print(f"  spent    ${float(cost.get('spent_usd') or 0):.2f} of ${float(cost.get('cap_usd') or 0):.2f} cap")
    if final.exists():
        print(f"  final    {final}")
    upload = (state.get("steps") or {}).get("upload") or {}
    if upload.get("status") == "skipped":
        print(f"  upload   skipped: {upload.get('note')}")
    elif (youtube := state.get("youtube") or {}).get("url"):
        print(f"  youtube  {youtube.get('url')} ({youtube.get('privacy')})")
        if youtube.get("privacy_note"):  # YouTube set another privacy than the one asked
            print(f"  privacy  {youtube.get('privacy_note')}", file=sys.stderr)
    if status == "halted_budget":
        halt = state.get("halt") or {}
        print(f"  halted   {halt.get('message')}", file=sys.stderr)
        if halt.get("budget") == "daily":
            print("  continue tomorrow: the next `series run` resumes it", file=sys.stderr)
        else:
            print(f"  continue with: python -m runner resume {sid} --cap <higher>", file=sys.stderr)
    elif status == "failed":
        print(f"  error    {state.get('error')}", file=sys.stderr)
        print(f"  retry with: python -m runner resume {sid}", file=sys.stderr)
    elif status == "needs_attention":
        print(f"  attention {(state.get('attention') or {}).get('message')}", file=sys.stderr)
    elif status == "interrupted":
        print(f"  continue with: python -m runner resume {sid}", file=sys.stderr)
    elif status == "awaiting_review":
        print(f"  review it, then: python -m runner approve {sid}")
        return 0 if review else 1
    return EXIT.get(status, 1)


def cmd_list(args: argparse.Namespace, root: Path) -> int:
    now = store.utc_now()
    rows = [store.session_summary(root, sid, now) for sid in store.list_session_ids(root)]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"no sessions under {store.sessions_dir(root)}")
        return 0
    print(f"{'id':<44} {'status':<16} {'spent/cap':>13} {'disk':>9}  theme")
    total = 0
    for r in rows:
        # States written before disk_bytes was recorded: measure the folder now.
        disk = r["disk_bytes"] if r["disk_bytes"] is not None else store.tree_bytes(store.session_dir(root, r["id"]))
        total += disk
        if not r["readable"]:
            print(f"{r['id']:<44} {'unreadable':<16} {'-':>13} {store.human_bytes(disk):>9}  ({r['error']})")
            continue
        money = f"${r['spent_usd'] or 0:.2f}/${r['cap_usd'] or 0:.2f}"
        print(f"{r['id']:<44} {r['status']:<16} {money:>13} {store.human_bytes(disk):>9}  {r['theme']}")
    print(f"{len(rows)} session(s), {store.human_bytes(total)} on disk ({total} bytes); "
          "`python -m runner prune` frees what completed sessions no longer need")
    return 0


def cmd_show(args: argparse.Namespace, root: Path) -> int:
    from .monitor_render import duration  # noqa: PLC0415

    from . import provenance  # noqa: PLC0415

    state = sessions.load(root, args.id)
    now = store.utc_now()
    row = store.summarize(state, now)
    prov = provenance.read(store.session_dir(root, state["id"]))
    if args.json:
        print(json.dumps({**state, "effective_status": row["status"], "summary": row, "provenance": prov}, indent=2))
        return 0
    print(f"{row['id']}  {row['status']}" + (f"  ({duration(row['duration_s'])})" if row["duration_s"] else ""))
    print(f"  theme    {row['theme']} ({row['season']}, {row['atmosphere']}, {row['minutes']:.4g} min, "
          f"{metadata.count(state['params']['tracks'], 'track')}, {row['provider']})")
    if row["title"]:
        print(f"  title    {row['title']}")
    print(f"  spent    ${row['spent_usd']:.2f} of ${row['cap_usd']:.2f} cap  "
          + "  ".join(f"{k} ${v:.2f}" for k, v in state["cost"]["by_asset"].items()))
    if row["error"]:
        print(f"  error    {row['error']}")
    disk = store.tree_bytes(store.session_dir(root, state["id"]))
    pruned = state.get("pruned")
    print(f"  disk     {store.human_bytes(disk)} ({disk} bytes)"
          + (f"; prune freed {store.human_bytes(pruned.get('freed_bytes'))}" if isinstance(pruned, dict) else ""))
    series = state.get("series")
    if isinstance(series, dict):
        print(f"  series   {series.get('id')} entry {series.get('entry')}, publishes "
              f"{series.get('publish_local') or '-'}" + ("" if series.get("publish_at") else " (kept private)"))
    end = store.session_end(state, row["status"], now)
    for name in store.STEPS:
        s = state["steps"][name]
        took = duration(store.step_seconds(s, end))
        print(f"  {name:<10} {s['status']:<8} {took:>8}  {s['error'] or s['note'] or ''}".rstrip())
    print("  provenance (provenance.json)" if prov is not None else "  provenance: none recorded (an older session)")
    for line in store.provenance_lines(prov) if prov is not None else []:
        print(f"    {line}")
    return 0


def cmd_estimate(args: argparse.Namespace, root: Path) -> int:
    if args.theme is None:
        args.theme = ESTIMATE_THEME
    params = _params(args)
    est = budget.estimate(params, elevenlabs=bool(os.environ.get("ELEVENLABS_API_KEY")))
    if args.json:
        print(json.dumps(est, indent=2))
    else:
        tracks = "your tracks" if params.get("music") else metadata.count(params["tracks"], "track")
        print(f"estimate for a {params['provider']} run ({tracks}):")
        for asset, usd in est["by_asset"].items():
            print(f"  {asset:<9} ${usd:.3f}")
        print(f"  {'total':<9} ${est['total_usd']:.3f} of ${est['cap_usd']:.2f} cap"
              + ("  OVER THE CAP" if est["over_cap"] else ""))
    return 1 if est["over_cap"] else 0


def cmd_monitor(args: argparse.Namespace, root: Path) -> int:
    from . import monitor  # noqa: PLC0415

    return monitor.run_monitor(root, args.id, once=args.once, follow=args.follow)


def cmd_auth(args: argparse.Namespace, root: Path) -> int:
    if args.service != "youtube":
        print(f"error: unknown service {args.service!r}; only youtube needs authorising", file=sys.stderr)
        return EXIT_BAD_INPUT
    plan_path = args.plan or (str(root / "series.toml") if (root / "series.toml").is_file() else None)
    playlist = False
    if plan_path is not None:
        loaded = _load_plan(plan_path)
        if loaded is None:
            return EXIT_BAD_INPUT
        playlist = loaded.playlist is not None
        if playlist:
            print(f"{plan_path} names the playlist {loaded.playlist!r}: asking for the youtube scope as well "
                  "(to create it and add uploads to it)")
    from .providers import youtube  # noqa: PLC0415

    return youtube.authorize_cli(os.environ, playlist=playlist)


def _load_plan(path: str) -> Any:
    from . import plan  # noqa: PLC0415

    try:
        return plan.load(Path(path))
    except plan.PlanError as exc:
        for line in exc.lines(path):
            print(line, file=sys.stderr)
        return None


def cmd_series(args: argparse.Namespace, root: Path) -> int:
    from . import plan as plans, series  # noqa: PLC0415

    loaded = _load_plan(args.plan)
    if loaded is None:
        return EXIT_BAD_INPUT
    problems = series.over_cap(loaded, os.environ)
    if problems:
        for line in plans.PlanError(list(problems)).lines(args.plan):
            print(line, file=sys.stderr)
        return EXIT_BAD_INPUT
    now = store.utc_now()
    if args.series_command == "check":
        print("\n".join(series.calendar_lines(loaded, os.environ, now)))
        return 0
    if args.ahead is not None and not 0 <= args.ahead <= plans.MAX_AHEAD_DAYS:
        print(f"error: --ahead must be from 0 to {plans.MAX_AHEAD_DAYS} days", file=sys.stderr)
        return EXIT_BAD_INPUT
    sessions.check_provider_keys(loaded.defaults, os.environ)
    sessions.check_root_writable(root)
    sessions.check_ffmpeg()
    from .providers import registry  # noqa: PLC0415

    runner = series.Runner(root, loaded, registry.build, os.environ, ahead_days=args.ahead, echo=sys.stdout)
    print(f"series {loaded.name!r}: making what is due on {loaded.today(now)} ({loaded.zone_name})", flush=True)
    try:
        outcomes = runner.run()
    except series.SeriesBusy as exc:
        print(str(exc))
        return 0
    if not outcomes:
        print("  nothing due")
    needs_person = [o for o in outcomes if o.action in ("left", "refused", "no-space")
                    or (o.status == "failed" and o.action != "waiting")]
    return 1 if needs_person else 0


def cmd_prune(args: argparse.Namespace, root: Path) -> int:
    from . import prune  # noqa: PLC0415

    try:
        found = prune.candidates(root, older_than=prune.parse_age(args.older_than), keep=args.keep,
                                 now=store.utc_now())
    except prune.PruneError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    freed = {c.session_id: (0 if args.dry_run else prune.remove(root, c, store.utc_now())) for c in found}
    if args.json:
        print(json.dumps({"dry_run": args.dry_run, "keep": args.keep,
                          "bytes": sum(c.bytes for c in found) if args.dry_run else sum(freed.values()),
                          "sessions": [{**c.as_dict(), "freed_bytes": freed[c.session_id]} for c in found]},
                         indent=2))
        return 0
    for c in found:
        names = ", ".join(p for p, _ in c.files[:6]) + (", ..." if len(c.files) > 6 else "")
        size = c.bytes if args.dry_run else freed[c.session_id]
        print(f"  {c.session_id:<44} {store.human_bytes(size):>9}  {names}" + (f"  ({c.note})" if c.note else ""))
    total = sum(c.bytes for c in found) if args.dry_run else sum(freed.values())
    verb = "would free" if args.dry_run else "freed"
    print(f"{verb} {store.human_bytes(total)} ({total} bytes) from {len(found)} session(s), keeping {args.keep}"
          + ("; run again without --dry-run to remove" if args.dry_run and found else ""))
    return 0


COMMANDS = {"run": cmd_run, "resume": cmd_resume, "approve": cmd_approve, "list": cmd_list, "show": cmd_show,
            "estimate": cmd_estimate, "monitor": cmd_monitor, "auth": cmd_auth,
            "series": cmd_series, "prune": cmd_prune}
