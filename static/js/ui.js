// Small shared pieces of the interface: badges, spend bars, toasts, empty and error states.

import { api, config } from "./api.js";
import { h, icon, HIDDEN } from "./dom.js";
import { dateTimeFull, length, money, pct, spendLevel, statusLabel, timeOfDay } from "./format.js";

/** A status's coloured badge; label: other words in that colour (a series entry's state). */
export function statusBadge(status, label) {
  const s = status || "unreadable";
  return h("span", { class: `badge s-${s}` }, h("span.badge__dot", HIDDEN), label || statusLabel(s));
}

export function seasonChip(season) {
  if (!season) return h("span.muted", "–");
  return h("span", { class: `season se-${season}` }, season);
}

/** A thin bar of spend against the cap, ticked and coloured at the server's spend levels. */
export function spendBar(spent, cap, { big = false } = {}) {
  const ratio = cap ? (spent || 0) / cap : null;
  return h("span", { class: ["spend", `spend--${spendLevel(ratio)}`, big && "spend--big"], role: "meter",
    "aria-valuemin": "0", "aria-valuemax": cap || 0, "aria-valuenow": spent || 0,
    "aria-label": `spent ${money(spent)} of ${money(cap)} cap` },
  fillTrack(ratio, null, levelMarks("span.spend__tick")),
  h("span.spend__label", h("strong", money(spent)), h("span.muted", " / " + money(cap)),
    ratio !== null && big ? h("span.spend__pct", pct(ratio)) : null));
}

/** A bar's track, filled to ratio (0 to 1; more shows full). */
export function fillTrack(ratio, props, ...extra) {
  return h("span.spend__track", props, h("span.spend__fill", { style: { "--w": pct(Math.min(1, ratio || 0), 1) } }), ...extra);
}

/** Ribbons on a cover: on YouTube, has a loop, the video's length once it is made. */
export function ribbons(cls, youtube, loop, minutes) {
  return h(cls, youtube ? h("span.ribbon.ribbon--yt", icon("play"), "YouTube") : null,
    loop ? h("span.ribbon.ribbon--loop", "Loop") : null,
    minutes != null ? h("span.ribbon.ribbon--len", length(minutes)) : null);
}

/** A mark at each spend level (amber, red). */
export function levelMarks(tag, label) {
  return Object.entries(config.spend_levels).map(([lvl, at]) => h(tag, { class: `mark--${lvl}`, "aria-hidden": "true",
    style: { left: pct(at) } }, label ? h("span", pct(at)) : null));
}

/** A short message in the corner; errors stay until dismissed, the rest fade. */
export function toast(message, kind = "info") {
  const el = h("div", { class: `toast toast--${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(kind === "error" ? "alert" : "check"), h("span", message),
    h("button.toast__close", { "aria-label": "Dismiss", on: { click: () => el.remove() } }, icon("close")));
  document.getElementById("toasts").append(el);
  if (kind !== "error") setTimeout(() => el.remove(), 5000);
}

/** A search box: onSearch(text) once typing pauses for ms. set(text) shows text unless the box is in use. */
export function searchField(props, onSearch, ms) {
  let typing = 0;
  const input = h("input.input", { type: "search", autocomplete: "off", ...props,
    on: { input() { clearTimeout(typing); typing = setTimeout(() => onSearch(input.value), ms); } } });
  return {
    el: h("label.field.field--search", icon("search"), input), input, stop: () => clearTimeout(typing),
    set(text) { if (input.value !== text && document.activeElement !== input) input.value = text; },
  };
}

/** A term and its value in a <dl>. */
export function fact(label, value) { return h("div", h("dt", label), h("dd", value)); }

/** A scrolling box keyboard users can reach and screen readers can name. */
export function region(tag, label, ...children) {
  return h(tag, { tabindex: "0", role: "region", "aria-label": label }, ...children);
}

/** Toggle chips for a list filter: get() is the list, set(list) changes it; sync() presses the chips in it. */
export function filterChips(values, make, get, set) {
  const chips = values.map((v) => {
    const c = make(v);
    c.addEventListener("click", () => { const l = get(); set(l.includes(v) ? l.filter((x) => x !== v) : [...l, v]); });
    return c;
  });
  const sync = () => chips.forEach((c, i) => c.setAttribute("aria-pressed", get().includes(values[i])));
  sync();
  return { chips, sync };
}

/** The Pause / Follow button of a log that follows its newest line. */
export function setFollow(btn, on) {
  btn.setAttribute("aria-pressed", on);
  btn.replaceChildren(icon(on ? "pause" : "play"), on ? "Pause" : "Follow");
}

/** Log records appended to list (at most max lines kept), scrolled to the end when following. */
export function addLines(list, recs, max, following, opts) {
  if (!recs.length) return;
  list.append(...recs.map((r) => logLine(r, opts)));
  while (list.childElementCount > max) list.firstElementChild.remove();
  if (following) list.parentElement.scrollTop = list.parentElement.scrollHeight;
}

export function emptyState(title, detail, action) {
  return h("div.empty",
    h("div.empty__art", HIDDEN),
    h("h3", title), detail && h("p.muted", detail), action);
}

export function errorState(err, retry) {
  return h("div.empty.empty--error", { role: "alert" },
    icon("alert", "icon icon--xl"), h("h3", "Could not load this"),
    h("p.muted", String(err?.message || err)), h("button.btn.btn--ghost", { on: { click: retry } }, "Try again"));
}

/** A titled card; extra goes beside the title; id names it for screen readers. */
export function card(title, body, { cls, extra, id }) {
  return h("section", { class: ["card", cls], "aria-labelledby": id + "-title" },
    h("header.card__head", h("h2.card__title", { id: id + "-title" }, title), extra), body);
}

export function skeleton(lines) {
  return h("div.skeleton", HIDDEN,
    Array.from({ length: lines }, (_, i) => h("span.skeleton__line", { style: { "--w": 60 + ((i * 17) % 40) + "%" } })));
}

export function sessionHref(id) { return "/sessions/" + encodeURIComponent(id); }
export function liveHref(id) { return "/live/" + encodeURIComponent(id); }

/** A <time> showing the time of day, the full date on hover. */
export function timeEl(tag, iso) { return h(tag, { datetime: iso || "", title: dateTimeFull(iso) }, timeOfDay(iso)); }

/** One log record as a list item; session markers link to that session's lines. */
export function logLine(rec, { marker = true } = {}) {
  const lvl = (rec.level || "INFO").toLowerCase();
  return h(`li.logline.logline--${lvl}`,
    timeEl("time.logline__time", rec.time),
    h(`span.lvl.lvl--${lvl}`, lvl.toUpperCase()),
    marker && rec.session ? h("a.logline__session", { href: "/logs?session=" + encodeURIComponent(rec.session), title: "Only this session" }, rec.session) : null,
    rec.step ? h("span.logline__step", rec.step) : null,
    h("span.logline__msg", rec.message || ""));
}

/** At most one call of fn per ms however often poke() is called (a busy stream must not
 *  starve it, as a debounce would). */
export function throttle(fn, ms) {
  let t = 0;
  return { poke() { if (!t) t = setTimeout(() => { t = 0; fn(); }, ms); }, cancel() { clearTimeout(t); t = 0; } };
}

/** Approve (upload a reviewed session) or resume (continue a stopped one) via the launcher. */
export function actionButton(sid, action, done) {
  const approve = action === "approve";
  const b = h("button.btn.btn--primary", { "data-action": action, on: { async click() {
    b.disabled = true;
    try {
      await api.post(`/api/sessions/${sid}/${action}`, {});
      toast(approve ? "Approved: the upload is starting" : "Resumed: the run continues", "ok");
      done();
    } catch (err) {
      toast(err.message, "error");
      b.disabled = false;
    }
  } } }, icon(action), approve ? "Approve upload" : "Resume run");
  return b;
}
