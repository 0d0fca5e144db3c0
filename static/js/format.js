// Human formats for numbers, money, durations and times. Pure functions: no DOM.

import { config } from "./api.js";

const nf = new Intl.NumberFormat("en-US");
const two = (n) => String(n).padStart(2, "0");
// No value to show: null, undefined or NaN.
const none = (v) => v == null || Number.isNaN(v);

export function num(n) { return none(n) ? "–" : nf.format(n); }

/** "1 track", "2 tracks": a count in words (runner/store.py count). */
export const counted = (n, noun) => `${num(n)} ${noun}${n === 1 ? "" : "s"}`;

/** $1.23; sub-cent amounts keep a third decimal so a $0.004 call is not shown as $0.00. */
export function money(usd) {
  if (none(usd)) return "–";
  const abs = Math.abs(usd);
  const digits = abs > 0 && abs < 0.1 ? 3 : 2;
  return (usd < 0 ? "-$" : "$") + abs.toFixed(digits);
}

/** 1.2 GB: bytes on disk in powers of 1000, as store.human_bytes prints them. */
export function bytes(n) {
  if (none(n)) return "–";
  let v = n, i = 0;
  while (Math.abs(v) >= 1000 && i < 4) { v /= 1000; i++; }
  return i ? `${v.toFixed(1)} ${["B", "KB", "MB", "GB", "TB"][i]}` : `${v} B`;
}

export function pct(ratio, digits = 0) {
  return none(ratio) ? "–" : (ratio * 100).toFixed(digits) + "%";
}

/** 4 s, 3m 05s, 1h 02m: a step's or a run's wall time. */
export function duration(seconds) {
  if (none(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s < 10) return s.toFixed(1) + " s";
  if (s < 60) return Math.round(s) + " s";
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  if (m < 60) return `${m}m ${two(r)}s`;
  const hrs = Math.floor(m / 60);
  return `${hrs}h ${two(m % 60)}m`;
}

/** A video's target length from its minutes: 1h, 1h 30m, 45m, 6 s. */
export function length(minutes) {
  if (minutes == null) return "–";
  if (minutes < 1) return Math.round(minutes * 60) + " s";
  const m = Math.round(minutes);
  if (m < 60) return m + "m";
  const hrs = Math.floor(m / 60), rest = m % 60;
  return rest ? `${hrs}h ${rest}m` : `${hrs}h`;
}

/** mm:ss for track lengths and chapter marks. */
export function clock(seconds) {
  if (seconds == null) return "–";
  const s = Math.max(0, Math.round(seconds));
  const hrs = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return hrs ? `${hrs}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/** A formatter of ISO times through Intl options; missing: what an unreadable time shows. */
const timeFormat = (options, missing = "") => {
  const f = new Intl.DateTimeFormat(undefined, options);
  return (iso) => { const t = parseTime(iso); return t === null ? missing : f.format(t); };
};
export const dateTime = timeFormat({ day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" }, "–");
export const dateTimeFull = timeFormat({ dateStyle: "medium", timeStyle: "medium" });
export const timeOfDay = timeFormat({ hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });

/** "3 min ago", "yesterday": how long since a time, for table cells and the hero. */
export function ago(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return "–";
  const s = Math.round((now - t) / 1000);
  if (s < 45) return "just now";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  const d = Math.round(s / 86400);
  if (d === 1) return "yesterday";
  if (d < 30) return d + " days ago";
  return dateTime(iso);
}

// The statuses whose label is not their name capitalised.
const STATUS_LABEL = { awaiting_review: "Review", halted_budget: "Budget halt", needs_attention: "Needs attention" };

export function statusLabel(status) { return STATUS_LABEL[status] || cap(status || "unknown"); }

export function cap(word) { return word ? word[0].toUpperCase() + word.slice(1) : ""; }

/** The dashboard's spend colour: "amber" or "red" from the server's spend levels, else "ok". */
export function spendLevel(ratio) {
  const { amber, red } = config.spend_levels;
  if (ratio == null) return "ok";
  return ratio >= red ? "red" : ratio >= amber ? "amber" : "ok";
}
