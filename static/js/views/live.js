// Live: one run as it happens. Drawn from the session's detail, then moved by the stream
// ("session" events carry steps and spend, "log" events the activity lines).

import { api, aborted, config } from "../api.js";
import { h, icon, HIDDEN } from "../dom.js";
import { cap, counted, duration, length, money, parseTime, pct, spendLevel } from "../format.js";
import { navigate } from "../router.js";
import * as stream from "../stream.js";
import {
  actionButton, addLines, card, emptyState, errorState, fact, fillTrack, levelMarks, liveHref, region, sessionHref, setFollow, statusBadge,
} from "../ui.js";

const STEP_ICON = { done: "check", failed: "close", skipped: "skip" };
const MOVING = new Set(["queued", "running", "awaiting_review"]);
const RESUMABLE = new Set(["interrupted", "failed", "halted_budget"]);
const MAX_LINES = 800;

export function mount(root, ctx) {
  const ctl = new AbortController();
  const view = h("div.view.view--live");
  root.append(view);
  const disposers = [];
  let sid = ctx.route.id;
  let timer = 0;
  let poll = 0;
  let following = true;

  // Parts of the page that change; built once, updated in place.
  const conn = h("span.conn", { role: "status" });
  const title = h("h1.view__title.live__title");
  const sub = h("p.live__sub");
  const badge = h("span");
  const rail = h("ol.rail", { "aria-label": "Pipeline steps" });
  const railItems = {};
  const STEPS = config.steps;
  for (const [i, name] of STEPS.entries()) {
    const time = h("span.rail__time", "–");
    const note = h("span.rail__note");
    const bar = h("span.rail__bar", HIDDEN, h("span.rail__barfill"));
    const node = h("span.rail__node", HIDDEN, i + 1);
    const state = h("span.rail__state", "pending");
    const li = h("li.rail__step", { "data-step": name, "data-status": "pending" },
      node, h("span.rail__label", cap(name)), state, time, bar, note);
    railItems[name] = { li, node, time, note, bar, state };
    rail.append(li);
  }
  const capText = h("p.capbar__text");
  const capBar = h("div.capbar", { role: "meter", "aria-label": "Spend against the cap", "aria-valuemin": "0" },
    fillTrack(0, null, levelMarks("span.capbar__mark", true)));
  const assets = h("dl.assets");
  const logList = h("ol.loglines.loglines--live", { "aria-label": "Activity", "aria-live": "off" });
  const followBtn = h("button.btn.btn--ghost.btn--sm", { on: { click() {
    setFollow(followBtn, following = !following);
    if (following) logList.parentElement.scrollTop = logList.parentElement.scrollHeight;
  } } });
  setFollow(followBtn, true);
  const preview = h("div");
  const actions = h("div.live__actions");

  function layout() {
    view.replaceChildren(
      h("header.view__head",
        h("div.live__heading", h("p.eyebrow", "Live run", conn), title, sub),
        h("div.view__actions", badge, actions)),
      h("section.card.card--rail", { "aria-labelledby": "rail-title" },
        h("h2.sr-only", { id: "rail-title" }, "Steps"), rail),
      h("div.grid.grid--live",
        card("Activity", region("div.logscroll", "Activity log", logList), { id: "act", cls: "card--activity", extra: followBtn }),
        h("div.live__side",
          card("Spend against cap", [capBar, capText, assets], { id: "cap", cls: "card--cap" }),
          card("Artwork", preview, { id: "pv", cls: "card--preview" }))));
  }

  function setConn(state) {
    conn.className = `conn conn--${state}`;
    conn.replaceChildren(h("span.conn__dot", HIDDEN), stream.LABELS[state]);
  }

  function applyRow(row) {
    if (!row) return;
    title.textContent = row.theme || row.id;
    sub.replaceChildren(h("span.mono", row.id), ` · ${length(row.minutes)} · ${counted(row.tracks, "track")} · ${row.provider || "local"}`);
    badge.replaceChildren(statusBadge(row.status));
    view.dataset.sessionStatus = row.status;
    const act = row.status === "awaiting_review" ? "approve" : RESUMABLE.has(row.status) ? "resume" : null;
    if ((act || "") !== actions.dataset.act) {
      actions.dataset.act = act || "";
      actions.replaceChildren(act ? actionButton(row.id, act, refresh) : "",
        h("a.btn.btn--ghost", { href: sessionHref(row.id) }, "Session details", icon("arrow")));
    }
    // Until the artwork step makes the cover, a note; the cover, once shown, stays.
    if (!preview.dataset.src) {
      preview.dataset.src = row.thumbnail_url || "";
      preview.replaceChildren(row.thumbnail_url ? h("img.live__art", { src: row.artwork_url || row.thumbnail_url, alt: `Artwork for ${row.theme || row.id}` })
        : h("p.muted.live__wait", "The cover appears when the artwork step is done."));
    }
  }

  function applySteps(steps) {
    if (!steps) return;
    for (const s of steps) {
      const it = railItems[s.name];
      if (!it) continue;
      it.li.dataset.status = s.status;
      it.li.dataset.started = s.started_at || "";
      it.state.textContent = s.status;
      it.node.replaceChildren(STEP_ICON[s.status] ? icon(STEP_ICON[s.status]) : STEPS.indexOf(s.name) + 1);
      const p = s.progress;
      it.note.textContent = s.status === "failed" ? (s.error || "failed") : s.status === "skipped" ? (s.note || "skipped")
        : s.status === "running" && p ? (p.label || (p.percent != null ? pct(p.percent / 100) : "")) : (s.status === "done" && s.cost_usd ? money(s.cost_usd) : "");
      it.note.title = it.note.textContent;
      const percent = s.status === "done" ? 100 : s.status === "running" && p?.percent != null ? p.percent : 0;
      it.bar.firstChild.style.setProperty("--w", percent + "%");
      it.li.setAttribute("aria-label", `${cap(s.name)}: ${s.status}${s.duration_s != null ? ", " + duration(s.duration_s) : ""}`);
      if (s.status !== "running") it.time.textContent = s.duration_s != null ? duration(s.duration_s) : s.status === "skipped" ? "skipped" : "–";
    }
    tick();
  }

  // Running steps show a live stopwatch.
  function tick() {
    const now = Date.now();
    for (const name of STEPS) {
      const it = railItems[name];
      if (it.li.dataset.status === "running") {
        const t = parseTime(it.li.dataset.started);
        it.time.textContent = t ? duration((now - t) / 1000) : "…";
      }
    }
  }

  function applySpend(spend) {
    if (!spend) return;
    const ratio = spend.cap_usd ? spend.spent_usd / spend.cap_usd : 0;
    const level = spendLevel(ratio);
    capBar.className = `capbar spend--${level}`;
    capBar.setAttribute("aria-valuemax", spend.cap_usd || 0);
    capBar.setAttribute("aria-valuenow", spend.spent_usd || 0);
    capBar.dataset.level = level;
    capBar.firstChild.firstChild.style.setProperty("--w", pct(Math.min(1, ratio), 1));
    capText.replaceChildren(h("strong", money(spend.spent_usd)), ` of ${money(spend.cap_usd)} cap · `, h("span", { class: `lvl lvl--${level}` }, pct(ratio)));
    assets.replaceChildren(...config.assets.map((k) => fact(k, money((spend.by_asset || {})[k] || 0))));
  }

  const showLines = (recs) => addLines(logList, recs, MAX_LINES, following, { marker: false });

  // A session's detail, or a "session" event: the same row, steps and spend.
  function show(d) {
    applyRow(d.row);
    applySteps(d.steps);
    applySpend(d.spend);
  }
  const loadDetail = async () => show(await api.get(`/api/sessions/${sid}`, { timeline_limit: 0 }, ctl.signal));
  const refresh = () => loadDetail().catch(() => {});

  async function start() {
    try {
      // Without an id: the run that is moving, else the newest.
      sid ||= (await api.first({ status: [...MOVING] }, ctl.signal) || await api.first({}, ctl.signal))?.id;
      if (!sid) {
        view.replaceChildren(emptyState("Nothing on air", "Start a pipeline to watch it here, step by step.",
          ctx.launchButton()));
        return;
      }
      layout();
      disposers.push(stream.onConnection(setConn));
      await loadDetail();
      const logs = await api.get("/api/logs", { session: sid, limit: 300 }, ctl.signal);
      showLines(logs.lines);
      disposers.push(stream.on("session", (ev) => {
        if (ev.id === sid) show(ev);
        // Watching "whatever is live": follow a new run when it starts.
        else if (!ctx.route.id && ev.row && MOVING.has(ev.row.status) && !MOVING.has(view.dataset.sessionStatus)) navigate(liveHref(ev.id), { replace: true });
      }), stream.on("log", (rec) => { if (rec.session === sid) showLines([rec]); }), stream.on("reset", refresh));
      timer = setInterval(tick, 1000);
      // Without the stream (proxy, server restarting), fall back to polling the detail.
      poll = setInterval(() => {
        if (stream.connection() !== "connected" && MOVING.has(view.dataset.sessionStatus)) refresh();
      }, 3000);
    } catch (err) {
      if (!aborted(err)) view.replaceChildren(errorState(err, () => { view.replaceChildren(); start(); }));
    }
  }
  start();
  return {
    unmount() { ctl.abort(); clearInterval(timer); clearInterval(poll); for (const d of disposers) d(); },
  };
}
