"""Pure drawing for the terminal monitor: a session's state and the time in, lines of text out.

Nothing here reads a file, looks at the clock or talks to a terminal; runner/monitor.py does
that at the edges. So every screen can be checked by passing a dict and a datetime.

The frame is laid out for 80x24 and degrades by dropping log lines first, then trimming the
bottom, and by truncating each line to the width (counting wide characters as two columns).
Colour is SGR codes only; with colour off the output contains no escape sequence at all.
"""

from __future__ import annotations

import datetime as _dt
import textwrap
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from runner import store

# SGR parameters. Plain 16-colour codes: 256-colour amber would be prettier but a terminal
# over a thin SSH link or inside screen/tmux with an old TERM may not have it.
BOLD = "1"
DIM = "2"
RED = "31"
GREEN = "32"
AMBER = "33"
CYAN = "36"
MAGENTA = "35"

# The colour of each spend level (the levels themselves are store.SPEND_LEVELS).
LEVEL_STYLE = {"ok": GREEN, "amber": AMBER, "red": RED}

STATUS_TEXT = {
    "queued": "queued",
    "running": "running",
    "awaiting_review": "awaiting review",
    "completed": "completed",
    "failed": "failed",
    "halted_budget": "halted: budget cap",
    "interrupted": "interrupted",
    "needs_attention": "needs attention",
}
STATUS_STYLE = {
    "queued": DIM,
    "running": CYAN,
    "awaiting_review": MAGENTA,
    "completed": GREEN,
    "failed": RED,
    "halted_budget": RED,
    "interrupted": AMBER,
    "needs_attention": AMBER,
}
STEP_STYLE = {"pending": DIM, "running": CYAN, "done": GREEN, "failed": RED, "skipped": DIM}


@dataclass(frozen=True)
class Glyphs:
    done: str
    running: str
    failed: str
    skipped: str
    pending: str
    full: str
    empty: str
    sep: str
    ellipsis: str
    rule: str


UNICODE = Glyphs("✓", "▶", "✗", "↷", "·", "█", "░", "·", "…", "─")
# For an output whose encoding cannot carry the Unicode set (LANG=C on an old system, a
# latin-1 pipe): the same layout in ASCII.
ASCII = Glyphs("+", ">", "x", "-", ".", "#", ".", "|", "...", "-")


def glyphs_for(encoding: str | None) -> Glyphs:
    """The Unicode glyph set when the output encoding can carry it, ASCII otherwise."""
    if not encoding:
        return UNICODE  # text streams without an encoding (StringIO) hold any str
    sample = "".join(getattr(UNICODE, f) for f in UNICODE.__dataclass_fields__)
    try:
        sample.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return ASCII
    return UNICODE


# ----------------------------------------------------------------------------- text cells

Span = tuple[str, str]  # (text, SGR parameters or "")
Line = list[Span]


def clean(text: Any) -> str:
    """Text from disk made safe for a terminal: one line, no control or format characters.

    State, events and logs are written by another program (and themes come from a person),
    so an escape sequence inside them must not reach the terminal and move our cursor or
    retitle the window.
    """
    s = "" if text is None else str(text)
    s = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in s)
    # Collapsing the runs also folds a multi-line message into one row.
    return " ".join(s.split())


def char_width(ch: str) -> int:
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def text_width(s: str) -> int:
    return sum(char_width(c) for c in s)


def line_width(line: Line) -> int:
    return sum(text_width(t) for t, _ in line)


def fit(line: Line, width: int, ellipsis: str = "…") -> Line:
    """Cut a line to width display columns, marking a cut with the ellipsis."""
    if line_width(line) <= width:
        return line
    room = max(0, width - text_width(ellipsis))
    out: Line = []
    used = 0
    for text, style in line:
        piece = []
        for ch in text:
            w = char_width(ch)
            if used + w > room:
                break
            piece.append(ch)
            used += w
        if piece:
            out.append(("".join(piece), style))
        if used >= room or len(piece) < len(text):
            break
    out.append((ellipsis[: max(0, width - used)], ""))
    return out


def paint(line: Line, color: bool) -> str:
    if not color:
        return "".join(t for t, _ in line)
    parts = []
    for text, style in line:
        if style and text:
            parts.append(f"\x1b[{style}m{text}\x1b[0m")
        else:
            parts.append(text)
    return "".join(parts)


def spread(left: Line, right: Line, width: int, ellipsis: str) -> Line:
    """Left part, then the right part flush with the right edge; the left gives way first."""
    rw = line_width(right)
    if rw >= width:
        return fit(right, width, ellipsis)
    room = width - rw - 1
    left = fit(left, room, ellipsis)
    gap = width - line_width(left) - rw
    return left + [(" " * gap, "")] + right


# ----------------------------------------------------------------------------- values

def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    return float(value)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def duration(seconds: float | None) -> str:
    """m:ss under an hour, h:mm:ss above; clock skew never shows a negative time."""
    if seconds is None:
        return ""
    s = int(max(0.0, seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def money(value: Any) -> str:
    v = _num(value)
    return "$?" if v is None else f"${v:,.2f}"


def progress_fraction(progress: Any) -> float | None:
    p = _dict(progress)
    pct = _num(p.get("percent"))
    if pct is not None:
        return min(1.0, max(0.0, pct / 100.0))
    done, total = _num(p.get("done")), _num(p.get("total"))
    if done is not None and total:
        return min(1.0, max(0.0, done / total))
    return None


def progress_text(progress: Any) -> str:
    """'7/10' style text for a step's progress: its label, else done/total, else percent."""
    p = _dict(progress)
    label = clean(p.get("label")).strip()
    if label:
        return label
    done, total = _num(p.get("done")), _num(p.get("total"))
    if done is not None and total is not None:
        return f"{done:g}/{total:g}"
    pct = _num(p.get("percent"))
    if pct is not None:
        return f"{pct:.0f}%"
    return ""


def bar(fraction: float, cells: int, g: Glyphs, style: str = "") -> Line:
    filled = int(round(min(1.0, max(0.0, fraction)) * cells))
    return [(g.full * filled, style), (g.empty * (cells - filled), DIM)]


def cost_level(spent: float | None, cap: float | None) -> tuple[float | None, str]:
    """Share of the cap spent (store.spend_ratio), and the colour of its store.spend_level."""
    share = store.spend_ratio(spent, cap)
    return share, (LEVEL_STYLE[store.spend_level(share)] if share is not None else "")


# ----------------------------------------------------------------------------- sections

def _header(row: store.SummaryRow, status: str, width: int, g: Glyphs) -> list[Line]:
    sid = clean(row["id"]) or "?"
    mark = {"running": g.running, "completed": g.done, "failed": g.failed,
            "halted_budget": g.failed, "interrupted": g.skipped, "needs_attention": g.failed}.get(status, g.pending)
    status_style = STATUS_STYLE.get(status, "")
    top = spread(
        [("Badger Tape ", BOLD), (g.sep + " " + sid, "")],
        [(f"{mark} {STATUS_TEXT.get(status, clean(status))}", status_style + ";" + BOLD if status_style else BOLD)],
        width, g.ellipsis,
    )
    bits = []
    theme = clean(row["theme"]).strip()
    if theme:
        bits.append(theme)
    if row["minutes"] is not None:
        bits.append(f"{row['minutes']:g} min")
    if row["tracks"] is not None:
        bits.append(store.count(row["tracks"], "track"))
    bits += [clean(v) for v in (row["provider"], row["season"], row["atmosphere"]) if v]
    elapsed = duration(row["duration_s"])
    label = "queued for" if status == "queued" else "elapsed"
    second = spread([(f" {g.sep} ".join(bits), "")],
                    [(f"{label} {elapsed}", DIM)] if elapsed else [], width, g.ellipsis)
    lines = [top, second]
    title = clean(row["title"]).strip()
    if title:
        lines.append(fit([("title ", DIM), (title, "")], width, g.ellipsis))
    return lines


def _step_rows(state: store.State, now: _dt.datetime, width: int, g: Glyphs) -> list[Line]:
    rows = []
    for name in store.STEPS:
        step = state["steps"][name]
        status = step["status"]
        mark = {"done": g.done, "running": g.running, "failed": g.failed,
                "skipped": g.skipped}.get(status, g.pending)
        style = STEP_STYLE.get(status, "")
        took = duration(store.step_seconds(step, now))
        cost_txt = money(step["cost_usd"]) if step["cost_usd"] else ""
        line: Line = [
            ("  ", ""), (mark, style), (" ", ""),
            (f"{name:<9}", BOLD if status == "running" else ""), ("  ", ""),
            (f"{status:<8}", style), (f"{took:>8}", ""), ("  ", ""),
            (f"{cost_txt:>6}", DIM), ("  ", ""),
        ]
        line += _step_detail(name, step, g)
        rows.append(fit(line, width, g.ellipsis))
    return rows


def _step_detail(name: str, step: store.Step, g: Glyphs) -> Line:
    detail: Line = []
    status = step["status"]
    if status == "running":
        text = progress_text(step["progress"])
        # Labels are written as "music 7/10"; on the rail the row already names the step.
        if text.lower().startswith(name + " "):
            text = text[len(name) + 1:]
        frac = progress_fraction(step["progress"])
        if text:
            detail.append((text + " ", ""))
        if frac is not None:
            detail += bar(frac, 10, g, CYAN)
    elif status == "failed":
        detail.append((clean(step["error"]) or "failed", RED))
    else:
        note = clean(step["note"]).strip()
        if note:
            detail.append((note, DIM))
    if step["attempts"] > 1:
        detail.append((f" (try {step['attempts']})", AMBER))
    return detail


def _cost_rows(state: store.State, row: store.SummaryRow, width: int, g: Glyphs) -> list[Line]:
    spent, share = row["spent_usd"], row["spend_ratio"]
    level = store.spend_level(share)
    style = LEVEL_STYLE[level]
    line: Line = [("  cost  ", BOLD)]
    if share is None:
        line.append((f"{money(spent)} spent, no cap recorded", AMBER))
    else:
        line += [("[", "")] + bar(share, 30, g, style) + [("]  ", "")]
        line.append((f"{money(spent)} of {money(row['cap_usd'])}", ""))
        line.append((f"  {share * 100:.0f}%", style + ";" + BOLD))
        # Words as well as colour, so the warning survives NO_COLOR, a pipe, and colour blindness.
        if share >= 1.0:
            line.append(("  cap reached", RED))
        elif level == "red":
            line.append(("  nearly at the cap", RED))
        elif level == "amber":
            line.append(("  near the cap", AMBER))
    rows = [fit(line, width, g.ellipsis)]
    by_asset = state["cost"]["by_asset"]
    parts = [f"{clean(k)} {money(by_asset[k])}" for k in list(store.ASSETS) + sorted(set(by_asset) - set(store.ASSETS))
             if k in by_asset]
    if parts:
        rows.append(fit([("        ", ""), (f" {g.sep} ".join(parts), DIM)], width, g.ellipsis))
    return rows


def activity(state: store.State, row: store.SummaryRow, now: _dt.datetime) -> tuple[str, str]:
    """What is happening now, in one phrase, and the colour it deserves.

    Running steps first (artwork/motion and music run side by side, so there can be two),
    else what the session status (row["status"]) says a person needs to know.
    """
    steps, status = state["steps"], row["status"]
    running = []
    for name in store.STEPS:
        step = steps[name]
        if step["status"] != "running":
            continue
        text = progress_text(step["progress"])
        if not text:
            took = duration(store.step_seconds(step, now))
            text = f"working for {took}" if took else "working"
        running.append(text if text.lower().startswith(name) else f"{name} {text}")
    if status == "running" and running:
        return " · ".join(running), CYAN
    if status == "halted_budget":
        msg = clean(row["error"])
        return "halted at the spend cap" + (f": {msg}" if msg else ""), RED
    if status == "needs_attention":
        msg = clean(_dict(state.get("attention")).get("message"))
        return "needs attention" + (f": {msg}" if msg else ": a paid request's outcome is unknown"), AMBER
    if status == "failed":
        msg = clean(row["error"])
        if not msg:
            failed = [n for n in store.STEPS if steps[n]["status"] == "failed"]
            msg = f"{failed[0]}: {clean(steps[failed[0]]['error'])}" if failed else ""
        return "failed" + (f": {msg}" if msg else ""), RED
    if status == "interrupted":
        return "interrupted: the runner stopped before the session finished (it can be resumed)", AMBER
    if status == "awaiting_review":
        return "waiting for a person to review it before upload (approve in the studio)", MAGENTA
    if status == "completed":
        yt = state["youtube"] or {}
        where = clean(yt.get("url") or (f"youtube id {yt['id']}" if yt.get("id") else ""))
        return "finished" + (f": uploaded, {where}" if where else ""), GREEN
    if status == "queued":
        return "waiting to start", DIM
    if running:
        return " · ".join(running), CYAN
    return "between steps", DIM


# Lines of the "now" text: two while a run works; more when it has stopped for a person, whose
# message says what to check and which command to run (needs_attention's, at 80 columns, takes
# five). The log tail gives up the room: a short terminal drops log lines first.
NOW_LINES = 2
NOW_LINES_STOPPED = 6
NOW_IN_FULL = frozenset({"needs_attention", "halted_budget", "failed"})


def log_row(line: str) -> Line:
    """One runner.log line, shortened to time, level, step and message."""
    rec = store.parse_log_line(line)
    if rec.get("time") is None:
        return [(clean(rec.get("message")), "")]
    t = store.parse_iso(rec["time"])
    when = t.strftime("%H:%M:%S") if t else clean(rec["time"])[:8]
    level = clean(rec.get("level"))
    style = {"ERROR": RED, "WARN": AMBER, "DEBUG": DIM}.get(level, "")
    step = clean(rec.get("step")) or "-"
    return [(when + " ", DIM), (f"{level:<5} ", style), (f"{step}: ", DIM), (clean(rec.get("message")), style)]


def event_row(event: dict[str, Any]) -> Line:
    """An events.jsonl entry in the same shape as a log row (used when the log has none)."""
    t = store.parse_iso(event.get("ts"))
    when = t.strftime("%H:%M:%S") if t else "--:--:--"
    kind = clean(event.get("type")) or "event"
    style = RED if "fail" in kind or "halt" in kind else ""
    step = clean(event.get("step")) or "-"
    return [(when + " ", DIM), (f"{kind} ", style), (f"{step}: ", DIM), (clean(event.get("message")), style)]


# ----------------------------------------------------------------------------- frame

def render(state: store.State, now: _dt.datetime, *, status: str | None = None,
           log_lines: Sequence[str] = (), events: Sequence[dict[str, Any]] = (),
           width: int = 80, height: int = 24, footer: str | None = None,
           glyphs: Glyphs = UNICODE) -> list[Line]:
    """The whole screen as styled spans, at most height lines of at most width columns.

    status is the effective one (a dead "running" shown as interrupted); by default the
    status written in the state. log_lines are this session's runner.log lines, oldest
    first; events stand in for them when there are none.
    """
    g = glyphs
    width = max(20, width)
    status = status or state["status"]
    row = store.summarize(state, now, status)
    end = store.session_end(state, status, now)   # where the clocks of running steps stop
    top = _header(row, status, width, g)
    top.append([])
    top += _step_rows(state, end, width, g)
    top.append([])
    top += _cost_rows(state, row, width, g)
    top.append([])
    text, style = activity(state, row, end)
    wrapped = textwrap.wrap(text, width=width - 8) or [""]
    most = NOW_LINES_STOPPED if status in NOW_IN_FULL else NOW_LINES
    if len(wrapped) > most:
        wrapped = wrapped[:most]
        wrapped[-1] = wrapped[-1] + g.ellipsis
    top.append(fit([("  now   ", BOLD), (wrapped[0], style)], width, g.ellipsis))
    for extra in wrapped[1:]:
        top.append(fit([("        ", ""), (extra, style)], width, g.ellipsis))

    bottom = [fit([(footer, DIM)], width, g.ellipsis)] if footer else []
    rows = [log_row(l) for l in log_lines] or [event_row(e) for e in events]
    room = height - len(top) - len(bottom) - 2  # a blank line and the log heading
    if rows and room > 0:
        heading = "  log (UTC)" if log_lines else "  events (UTC)"
        top.append([])
        top.append([(heading + " " + g.rule * max(0, width - len(heading) - 1), DIM)])
        top += [fit([("  ", "")] + r, width, g.ellipsis) for r in rows[-room:]]
    if bottom:
        top = top[: max(0, height - len(bottom))]
        # Keep the footer on the last row so it does not jump as the log grows.
        top += [[] for _ in range(height - len(bottom) - len(top))]
    return (top + bottom)[:height]


def render_lines(state: store.State, now: _dt.datetime, *, status: str | None = None,
                 log_lines: Sequence[str] = (), events: Sequence[dict[str, Any]] = (),
                 width: int = 80, height: int = 24, color: bool = False,
                 footer: str | None = None, glyphs: Glyphs = UNICODE) -> list[str]:
    """The screen as plain strings (with SGR colour codes only when color is true)."""
    frame = render(state, now, status=status, log_lines=log_lines, events=events,
                   width=width, height=height, footer=footer, glyphs=glyphs)
    return [paint(line, color).rstrip() if not color else paint(line, color) for line in frame]


def session_log_lines(lines: Iterable[str], session_id: str) -> list[str]:
    """The lines of a shared runner.log that belong to one session."""
    return [l for l in lines if store.parse_log_line(l).get("session") == session_id]
