// Overview: hero, headline numbers, cost per run, upload success, seasons, step times.

import { api, aborted, config } from "../api.js";
import { costChart, ring, shareBars } from "../charts.js";
import { h, icon, HIDDEN } from "../dom.js";
import { ago, cap, counted, duration, length, money, num, pct, statusLabel } from "../format.js";
import { countUp } from "../motion.js";
import * as stream from "../stream.js";
import { card, errorState, fact, liveHref, sessionHref, skeleton, statusBadge, throttle } from "../ui.js";

export function mount(root, ctx) {
  const ctl = new AbortController();
  const view = h("div.view.view--overview");
  root.append(view);
  view.append(h("div.hero.hero--loading", skeleton(3)), h("div.kpis",
    Array.from({ length: 4 }, () => h("div.card.kpi", skeleton(2)))));
  let cost = null;
  const reload = throttle(load, 3000);

  async function load() {
    try {
      const [k, latest, live] = await Promise.all([
        api.get("/api/kpis", { series: 60 }, ctl.signal),
        api.first({ status: ["completed", "awaiting_review"] }, ctl.signal),
        api.first({ status: ["running", "queued"] }, ctl.signal),
      ]);
      render(k, live, latest);
    } catch (err) {
      if (aborted(err)) return;
      view.replaceChildren(errorState(err, load));
    }
  }

  function render(k, live, latest) {
    if (cost) cost.dispose();
    cost = costChart(k.series, { href: sessionHref });
    view.replaceChildren(
      hero(live, latest, ctx),
      h("div.kpis", kpiCards(k, !view.dataset.settled)),
      h("div.grid.grid--overview",
        card("Cost per run", k.series.length ? cost : h("p.muted", "No sessions yet."), {
          cls: "card--chart", id: "cost",
          extra: h("div.legend", HIDDEN,
            config.statuses.filter((st) => k.series.some((r) => r.status === st)).map((st) =>
              h("span", { class: `legend__item s-${st}` }, h("i"), statusLabel(st)))),
        }),
        card("Upload success", h("div.ring-wrap",
          ring(k.upload.rate, { label: "Upload success", sub: uploads(k) }),
          h("dl.mini-stats",
            fact("Uploaded", num(k.upload.succeeded)), fact("Failed", num(k.upload.failed)),
            fact("Skipped", num(k.upload.skipped)))), { id: "uploads", cls: "card--ring" }),
        card("Seasons", shareBars(config.choices.season.map((season) => ({
          label: cap(season), value: k.seasons[season] || 0, cls: `se-${season}`,
        })), (v, total) => `${num(v)} · ${total ? pct(v / total) : "0%"}`), { id: "seasons", cls: "card--seasons" }),
        card("Median step time", shareBars(Object.entries(k.step_median_s).map(([name, v]) => ({
          label: name, value: v || 0,
        })), (v) => (v ? duration(v) : "–")), { id: "steps", cls: "card--steps" }),
      ));
    // Redraws during a run must not replay the entrance animations.
    setTimeout(() => { view.dataset.settled = "1"; }, 1500);
  }

  // The numbers follow the runs: reload (coalesced) when a session changes.
  const off = stream.on("session", reload.poke);
  const offReset = stream.on("reset", load);
  load();
  return {
    unmount() { ctl.abort(); off(); offReset(); reload.cancel(); if (cost) cost.dispose(); },
  };
}

function hero(live, latest, ctx) {
  const art = (live || latest)?.artwork_url;
  const el = h("section", { class: ["hero", live && "hero--live"], "aria-labelledby": "hero-title" });
  if (art) el.append(h("img.hero__art", { src: art, alt: "", decoding: "async", fetchpriority: "high", on: { error() { this.remove(); } } }));
  el.append(h("div.hero__veil", HIDDEN));
  const [eyebrow, title, meta, actions] = live ? [
    [h("span.pulse", HIDDEN), "On air now"], live.theme || live.id,
    [statusBadge(live.status),
      live.current_step ? h("span", `${live.current_step}${live.progress_percent != null ? " · " + Math.round(live.progress_percent) + "%" : ""}`) : null,
      h("span", `${length(live.minutes)} · ${counted(live.tracks, "track")}`)],
    [h("a.btn.btn--primary", { href: liveHref(live.id) }, icon("live"), "Watch live"),
      h("a.btn.btn--ghost", { href: sessionHref(live.id) }, "Session details")],
  ] : latest ? [
    ["Latest tape · ", ago(latest.finished_at || latest.created_at)], latest.title || latest.theme || latest.id,
    [statusBadge(latest.status),
      h("span", `${cap(latest.season || "")} · ${length(latest.minutes)} · ${counted(latest.tracks_rendered, "track")}`),
      h("span", money(latest.spent_usd) + " spent")],
    [h("a.btn.btn--ghost", { href: sessionHref(latest.id) }, icon("play"), "Open session"), ctx.launchButton()],
  ] : [
    "Badger Tape Studio", "Your first tape is one theme away",
    "Type a theme and get an hour of lofi with cover art, a loop and a private upload.", ctx.launchButton(),
  ];
  el.append(h("div.hero__body", h("p.eyebrow", eyebrow), h("h1.hero__title", { id: "hero-title" }, title),
    h("p.hero__meta", meta), h("div.hero__actions", actions)));
  return el;
}

const uploads = (k) => `${num(k.upload.succeeded)} of ${counted(k.upload.attempted, "upload")}`;
const whole = (v) => num(Math.round(v));

function kpiCards(k, animate) {
  const defs = [
    { key: "sessions", label: "Sessions", icon: "sessions", value: k.sessions, fmt: whole,
      sub: `${num(k.completed)} completed · ${num(k.failed)} failed` },
    { key: "tracks", label: "Tracks rendered", icon: "music", value: k.tracks_rendered, fmt: whole,
      sub: `${counted(k.rendered, "video")} rendered` },
    { key: "uploads", label: "Upload success", icon: "upload", value: k.upload.rate, fmt: pct,
      sub: k.upload.attempted ? uploads(k) : "no uploads yet" },
    { key: "spend", label: "Spend", icon: "coin", value: k.spend.total_usd, fmt: money,
      sub: k.spend.average_usd != null ? `${money(k.spend.average_usd)} per run on average` : "nothing spent yet" },
  ];
  return defs.map((d, i) => {
    const value = h("strong.kpi__value", { "data-kpi": d.key });
    const el = h("article", { class: `card kpi kpi--${d.key}`, style: { "--i": i } },
      h("div.kpi__head", h("span.kpi__icon", icon(d.icon)), h("h2.kpi__label", d.label)),
      value, h("p.kpi__sub", d.sub));
    if (animate) countUp(value, d.value, d.fmt);
    else value.textContent = d.fmt(d.value);
    return el;
  });
}
