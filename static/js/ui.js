// Small shared pieces of the interface: badges, spend bars, toasts, empty and error states.

import { api, config } from "./api.js";
import { h, icon, HIDDEN } from "./dom.js";
import { dateTimeFull, money, pct, spendLevel, statusLabel, timeOfDay } from "./format.js";

export function statusBadge(status) {
  const s = status || "unreadable";
  return h("span", { class: `badge s-${s}` }, h("span.badge__dot", HIDDEN), statusLabel(s));
}

export function seasonChip(season) {
  if (!season) return h("span.muted", "–");
  return h("span", { class: `season se-${season}` }, season);
}

/** A thin bar of spend against the cap, ticked and coloured at the server's spend levels. */
export function spendBar(spent, cap, { label = true, big = false } = {}) {
  const ratio = cap ? (spent || 0) / cap : null;
  const level = spendLevel(ratio);
  const width = ratio === null ? 0 : Math.min(100, ratio * 100);
  const bar = h("span", { class: ["spend", `spend--${level}`, big && "spend--big"], role: "meter",
    "aria-valuemin": "0", "aria-valuemax": String(cap || 0), "aria-valuenow": String(spent || 0),
    "aria-label": `spent ${money(spent)} of ${money(cap)} cap` },
  h("span.spend__track",
    h("span.spend__fill", { style: { "--w": width.toFixed(1) + "%" } }),
    levelMarks("span.spend__tick")));
  if (label) {
    bar.append(h("span.spend__label",
      h("strong", money(spent)), h("span.muted", " / " + money(cap)),
      ratio !== null && big ? h("span.spend__pct", pct(ratio)) : null));
  }
  return bar;
}

/** A mark at each spend level (amber, red). */
export function levelMarks(tag, label) {
  return Object.entries(config.spend_levels).map(([lvl, at]) => h(tag, { class: `mark--${lvl}`, "aria-hidden": "true",
    style: { left: pct(at) } }, label ? h("span", pct(at)) : null));
}

let toastHost = null;

/** A short message in the corner; errors stay until dismissed, the rest fade. */
export function toast(message, kind = "info") {
  if (!toastHost) toastHost = document.getElementById("toasts");
  const close = h("button.toast__close", { "aria-label": "Dismiss" }, icon("close"));
  const el = h("div", { class: `toast toast--${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(kind === "error" ? "alert" : "check"), h("span", message), close);
  close.addEventListener("click", () => el.remove());
  toastHost.append(el);
  if (kind !== "error") setTimeout(() => el.remove(), 5000);
}

export function emptyState(title, detail, action) {
  return h("div.empty",
    h("div.empty__art", HIDDEN),
    h("h3", title), detail ? h("p.muted", detail) : null, action || null);
}

export function errorState(err, retry) {
  const btn = retry ? h("button.btn.btn--ghost", { on: { click: retry } }, "Try again") : null;
  return h("div.empty.empty--error", { role: "alert" },
    icon("alert", "icon icon--xl"), h("h3", "Could not load this"),
    h("p.muted", String((err && err.message) || err)), btn);
}

export function card(title, body, { cls = "", extra = null, id = null } = {}) {
  const headId = id ? id + "-title" : null;
  return h("section", { class: ["card", cls], "aria-labelledby": headId },
    title ? h("header.card__head", h("h2.card__title", { id: headId }, title), extra) : null,
    body);
}

export function skeleton(lines = 3) {
  return h("div.skeleton", HIDDEN,
    Array.from({ length: lines }, (_, i) => h("span.skeleton__line", { style: { "--w": 60 + ((i * 17) % 40) + "%" } })));
}

/** Session links: the detail page of a session. */
export function sessionHref(id) { return "/sessions/" + encodeURIComponent(id); }
export function liveHref(id) { return id ? "/live/" + encodeURIComponent(id) : "/live"; }

/** One log record as a list item; session markers link to that session's lines. */
export function logLine(rec, { marker = true } = {}) {
  const lvl = (rec.level || "INFO").toLowerCase();
  return h(`li.logline.logline--${lvl}`,
    h("time.logline__time", { datetime: rec.time || "", title: dateTimeFull(rec.time) }, timeOfDay(rec.time)),
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
  const b = h("button.btn.btn--primary", { "data-action": action }, icon(action), approve ? "Approve upload" : "Resume run");
  b.addEventListener("click", async () => {
    b.disabled = true;
    try {
      await api.post(`/api/sessions/${sid}/${action}`, {});
      toast(approve ? "Approved: the upload is starting" : "Resumed: the run continues", "ok");
      done();
    } catch (err) {
      toast(err.message, "error");
      b.disabled = false;
    }
  });
  return b;
}
