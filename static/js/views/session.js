// Session detail: artwork and loop, the final video (Range requests let it seek), YouTube
// link, tracks with provenance, timeline, ledger, approve / resume.

import { api, aborted } from "../api.js";
import { h, icon, HIDDEN } from "../dom.js";
import { bytes, cap, clock, counted, dateTime, duration, length, money, num } from "../format.js";
import { reducedMotion } from "../motion.js";
import { navigate } from "../router.js";
import * as stream from "../stream.js";
import {
  actionButton, card, errorState, fact, liveHref, region, ribbons, skeleton, spendBar, statusBadge, throttle, timeEl, toast,
} from "../ui.js";

// What a redraw would change: the session's and its steps' statuses.
const shapeOf = (row, steps) => row.status + steps.map((s) => s.status).join();

export function mount(root, ctx) {
  const ctl = new AbortController();
  const sid = ctx.route.id;
  const view = h("div.view.view--session", h("div.card", skeleton(5)));
  root.append(view);
  let audio = null;
  const reload = throttle(load, 1500);
  let shape = "";

  async function load() {
    try {
      const d = await api.get(`/api/sessions/${sid}`, { timeline_limit: 400 }, ctl.signal);
      render(d);
    } catch (err) {
      if (aborted(err)) return;
      view.replaceChildren(err.status === 404
        ? h("div.empty", h("h3", "No such session"), h("a.btn.btn--ghost", { href: "/sessions" }, "All sessions"))
        : errorState(err, load));
    }
  }

  function render(d) {
    const row = d.row || {};
    shape = shapeOf(row, d.steps || []);
    // The session's files that exist: {url} or undefined.
    const [art, loopFile, final] = ["artwork", "loop", "final"].map((k) => d.media?.[k]?.exists ? d.media[k] : undefined);
    const stage = h("div.stage");
    stage.append(art ? h("img.stage__art", { src: art.url, alt: `Artwork for ${row.theme || sid}` })
      : h("div.stage__none", d.readable ? "No artwork yet" : "This session's state.json cannot be read"));
    if (loopFile) {
      // The loop plays over the still (muted, as browsers require for autoplay), unless
      // the person asked for less motion: then it waits for a click.
      const setToggle = () => {
        toggle.replaceChildren(icon(loop.paused ? "play" : "pause"), loop.paused ? "Play loop" : "Pause loop");
        stage.classList.toggle("is-playing", !loop.paused);
      };
      const loop = h("video.stage__loop", { src: loopFile.url, muted: true, loop: true, playsinline: true,
        preload: "metadata", "aria-label": "Motion loop", props: { muted: true }, on: { play: setToggle, pause: setToggle } });
      const toggle = h("button.stage__toggle", { on: { click: () => (loop.paused ? loop.play().catch(() => {}) : loop.pause()) } });
      if (!reducedMotion()) { loop.autoplay = true; loop.play().catch(() => {}); }
      setToggle();
      stage.append(loop, toggle);
    }
    stage.append(ribbons("div.stage__ribbons.ribbons", d.youtube?.url, loopFile, final ? row.minutes : null));

    const actions = h("div.detail__actions");
    for (const a of ["approve", "resume"]) if (d.actions?.[a]) actions.append(actionButton(sid, a, () => navigate(liveHref(sid))));
    if (d.live) actions.append(h("a.btn.btn--ghost", { href: liveHref(sid) }, icon("live"), "Watch live"));
    if (d.youtube?.url) {
      actions.append(h("a.btn.btn--yt", { href: d.youtube.url, target: "_blank", rel: "noopener noreferrer", "data-external": "" },
        icon("play"), "Open on YouTube", icon("external", "icon icon--sm")));
    }

    const p = d.params || {};
    const facts = h("dl.facts",
      fact("Season", cap(p.season || row.season || "–")), fact("Atmosphere", cap(p.atmosphere || "–")),
      fact("Length", length(p.minutes)), fact("Tracks", p.tracks != null ? `${num(row.tracks_rendered)}/${num(p.tracks)}` : "–"),
      fact("Provider", cap(p.provider || "–")), fact("Privacy", cap(p.privacy || "–")),
      fact("Started", dateTime(d.created_at || row.created_at)), fact("Duration", duration(row.duration_s)),
      fact("Disk", bytes(row.disk_bytes)),
      row.series ? fact("Series", h("a", { href: "/sessions?series=" + encodeURIComponent(row.series) },
        `${row.series} · ${row.entry}`)) : null);

    const notice = (kind, i, m) => m && h(`p.notice.notice--${kind}`, { role: "alert" }, icon(i), m);
    const problems = [notice("error", "alert", d.error), notice("amber", "coin", d.halt?.message),
      notice("amber", "alert", d.attention?.message), notice("amber", "alert", d.youtube?.privacy_note),
      !d.readable && notice("error", "alert", d.error || "unreadable")];

    const header = h("section.detail__hero", stage,
      h("div.detail__info",
        h("a.backlink", { href: "/sessions" }, icon("back"), "Sessions"),
        h("p.eyebrow.mono", sid),
        h("h1.view__title.detail__title", d.title || row.theme || sid),
        d.title && row.theme ? h("p.muted", `Theme: ${row.theme}`) : null,
        h("div.detail__status", statusBadge(d.status)),
        problems, actions,
        d.spend ? h("div.detail__spend", h("h2.label", "Spend against cap"), spendBar(d.spend.spent_usd, d.spend.cap_usd, { big: true })) : null,
        facts));

    const meta = d.metadata && (d.metadata.description || (d.metadata.tags || []).length);
    const grid = h("div.grid.grid--detail",
      final ? card("Final video", h("video.player", { src: final.url, controls: true, preload: "metadata",
        poster: art?.url, "aria-label": "Final video" }), { id: "final", cls: "card--player" }) : null,
      card("Tracks", tracksList(d.tracks || []), { id: "tracks", cls: "card--tracks" }),
      d.provenance ? card("Provenance", h("ul.prov.mono", d.provenance.lines.map((l) => h("li", l))), { id: "prov", cls: "card--prov" }) : null,
      card("Steps", stepsList(d.steps || []), { id: "steps-d", cls: "card--steps-d" }),
      card("Timeline", timeline(d.timeline || [], d.timeline_total), { id: "timeline", cls: "card--timeline" }),
      card("Ledger", ledger(d.calls || [], d.ledger_total_usd), { id: "ledger", cls: "card--ledger" }),
      meta ? card("YouTube metadata", h("div.meta",
        d.metadata.description ? h("pre.meta__desc", d.metadata.description) : null,
        h("p.meta__tags", (d.metadata.tags || []).map((t) => h("span.tag", t)))), { id: "meta", cls: "card--meta" }) : null);
    view.replaceChildren(header, grid);
  }

  function tracksList(tracks) {
    if (!tracks.length) return h("p.muted", "No tracks yet.");
    return h("ol.tracks", tracks.map((t) => {
      const play = h("button.track__play", { "aria-label": `Play ${t.title || "track " + t.index}`, disabled: !t.url,
        on: { click: () => playTrack(t, play) } }, icon("play"));
      return h("li.track", play,
        h("span.track__idx", String(t.index).padStart(2, "0")),
        h("span.track__main", h("span.track__title", t.title || `Track ${t.index}`),
          h("span.track__prov", [t.provider, t.model].filter(Boolean).join(" · "))),
        h("span.track__tags", [t.bpm ? `${t.bpm} bpm` : null, t.key].filter(Boolean).join(" · ")),
        h("span.track__len", clock(t.seconds)));
    }));
  }

  // One audio element for the whole list: starting a track stops the previous one.
  function playTrack(t, btn) {
    if (!audio) { audio = new Audio(); audio.onended = () => reset(); }
    const reset = () => view.querySelectorAll(".track__play.is-playing").forEach((b) => { b.classList.remove("is-playing"); b.replaceChildren(icon("play")); });
    if (btn.classList.contains("is-playing")) { audio.pause(); reset(); return; }
    reset();
    audio.src = t.url;
    audio.play().then(() => { btn.classList.add("is-playing"); btn.replaceChildren(icon("pause")); }).catch((e) => toast(`Cannot play: ${e.message}`, "error"));
  }

  function stepsList(steps) {
    return h("ol.steplist", steps.map((s) => h("li", { class: `steplist__item steplist--${s.status}` },
      h("span.steplist__dot", HIDDEN),
      h("span.steplist__name", s.name),
      h("span.steplist__status", s.status),
      h("span.steplist__time", s.duration_s != null ? duration(s.duration_s) : ""),
      h("span.steplist__cost", s.cost_usd ? money(s.cost_usd) : ""),
      s.error || s.note ? h("span.steplist__note", s.error || s.note) : null)));
  }

  function timeline(events, total) {
    if (!events.length) return h("p.muted", "No events recorded.");
    const list = h("ol.timeline", events.slice().reverse().map((e) => h("li", { class: `tl tl--${e.type}` },
      timeEl("time.tl__time", e.ts),
      h("span.tl__type", (e.type || "").replace(/_/g, " ")),
      e.step ? h("span.tl__step", e.step) : null,
      h("span.tl__msg", e.message || ""))));
    return region("div.scrollbox", "Timeline", list,
      total > events.length ? h("p.muted.small", `${num(events.length)} of ${counted(total, "event")} shown (progress ticks hidden)`) : null);
  }

  function ledger(calls, total) {
    if (!calls.length) return h("p.muted", "No provider calls: a local run costs nothing.");
    return region("div.scrollbox", "Ledger", h("table.ledger",
      h("thead", h("tr", ["Call", "Asset", "Model", "Estimate", "Paid"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", calls.map((c) => h("tr", null,
        h("td", c.label || c.call_id), h("td", c.asset || "–"), h("td.mono.small", c.model || "–"),
        h("td.num", money(c.estimate_usd)), h("td.num", c.actual_usd == null ? "not paid" : money(c.actual_usd))))),
      h("tfoot", h("tr", h("th", { scope: "row", colspan: "4" }, "Total paid"), h("td.num", money(total))))));
  }

  // A running session re-renders as it moves (coalesced: at most every 2 s).
  // Redraw only when what the page shows changes (a status), not on every heartbeat:
  // a redraw would restart the players.
  const off = stream.on("session", (ev) => {
    if (ev.id !== sid || !ev.steps) return;
    const next = shapeOf(ev.row, ev.steps);
    if (next !== shape) { shape = next; reload.poke(); }
  });
  load();
  return { unmount() { ctl.abort(); off(); reload.cancel(); if (audio) audio.pause(); } };
}
