// Series: each plan's calendar (planned, made, scheduled with its publish time, published,
// failed), today's spend against its daily budget, today's YouTube quota and the disk.

import { api, aborted } from "../api.js";
import { h, HIDDEN } from "../dom.js";
import { bytes, cap, counted, dateTimeFull, money, num } from "../format.js";
import * as stream from "../stream.js";
import { card, emptyState, errorState, fillTrack, sessionHref, skeleton, spendBar, statusBadge, throttle } from "../ui.js";

// An entry's status borrows the colour of the session status closest to it.
const TONE = { planned: "queued", making: "running", waiting: "interrupted", made: "awaiting_review",
  uploaded: "completed", scheduled: "awaiting_review", published: "completed", failed: "failed" };

export function mount(root) {
  const ctl = new AbortController();
  const view = h("div.view.view--series", h("header.view__head", h("h1.view__title", "Series")), skeleton(4));
  root.append(view);
  const reload = throttle(load, 3000);

  async function load() {
    try {
      render(await api.get("/api/series", null, ctl.signal));
    } catch (err) {
      if (!aborted(err)) view.replaceChildren(errorState(err, load));
    }
  }

  function render(d) {
    view.replaceChildren(
      h("header.view__head", h("div", h("h1.view__title", "Series"),
        h("p.toolbar__count", { role: "status" }, counted(d.series.length, "plan")))),
      h("div.grid.grid--series", quotaCard(d.quota), diskCard(d.disk)),
      ...(d.series.length ? d.series.map(plan) : [emptyState("No series yet",
        "Write a series.toml and run `python -m runner series run series.toml`: its calendar appears here.")]));
  }

  load();
  const off = stream.on("session", () => reload.poke());
  return { unmount() { ctl.abort(); off(); reload.cancel(); } };
}

function meter(label, used, limit) {
  return h("div.qmeter.spend", { role: "meter", "aria-label": `${label}: ${num(used)} of ${num(limit)}`,
    "aria-valuemin": "0", "aria-valuemax": limit, "aria-valuenow": used },
  h("span", label, h("strong", ` ${num(used)}`), h("span.muted", ` / ${num(limit)}`)),
  fillTrack(limit && used / limit, HIDDEN));
}

function quotaCard(q) {
  const spent = q.exhausted.length ? h("p.field__error", `YouTube said ${q.exhausted.join(", ")} is used up`) : null;
  return card("YouTube quota today", h("div.series__meters",
    meter("Uploads", q.used["videos.insert"] || 0, q.limits["videos.insert"]),
    meter("Units", q.used.shared || 0, q.limits.shared), spent,
    h("p.muted", `Pacific day ${q.day}; resets ${dateTimeFull(q.resets_at)}`)), { id: "quota", cls: "card--quota" });
}

function diskCard(d) {
  return card("Disk", h("div",
    h("p.kpi__value", { "data-bytes": d.total_bytes }, bytes(d.total_bytes)),
    h("p.muted", `held by ${counted(d.sessions, "session")}; python -m runner prune frees the intermediates`)),
  { id: "disk", cls: "card--disk" });
}

function plan(s) {
  const t = s.today;
  const about = [s.zone, `publishes ${s.publish_time}`, s.provider, `${money(s.cap_usd)} a run`,
    s.playlist ? `playlist “${s.playlist}”` : null].filter(Boolean).join(" · ");
  return card(s.name, h("div.series",
    h("p.muted", about),
    h("div.series__today", h("span", `Spent today (${t.date}) of the ${money(t.daily_budget_usd)} daily budget`),
      t.daily_budget_usd ? spendBar(t.spent_usd, t.daily_budget_usd, { big: true }) : h("strong", money(t.spent_usd))),
    h("p", Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(" · "), " ",
      h("a.btn.btn--ghost.btn--sm", { href: "/sessions?series=" + encodeURIComponent(s.id) }, "Its sessions")),
    calendar(s)), { id: "series-" + s.id, cls: "card--series" });
}

function when(e) {
  // The plan's own wall clock ("18:00"), whatever zone the browser is in.
  return e.publish_local ? e.publish_local.slice(11, 16) : "–";
}

function calendar(s) {
  const row = (e) => h("tr", { "data-key": e.key, "data-status": e.status },
    h("td", e.date), h("td", { title: e.publish_at || "" }, when(e)),
    h("td", e.session_id ? h("a", { href: sessionHref(e.session_id) }, e.theme) : e.theme,
      e.error ? h("span.vrow__sub", e.error) : null),
    h("td.num", money(e.estimate_usd)),
    h("td", statusBadge(TONE[e.status] || "queued", e.status === "scheduled" ? `Scheduled for ${when(e)}` : cap(e.status)),
    e.youtube_url ? h("a.cal__yt", { href: e.youtube_url, target: "_blank", rel: "noopener noreferrer" }, "YouTube") : null));
  return h("div.cal", h("table.ledger",
    h("caption.sr-only", `${s.name}: calendar (times in ${s.zone})`),
    h("thead", h("tr", ["Date", "Publishes", "Theme", "Est.", "Status"].map((c) =>
      h("th", { scope: "col", class: c === "Est." ? "num" : null }, c)))),
    h("tbody", s.entries.map(row))));
}
