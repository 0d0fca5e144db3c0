// Logs: the (server-redacted) runner log with filters; older lines page in by byte offset,
// new ones arrive on the stream while following.

import { api, aborted, config } from "../api.js";
import { h, icon } from "../dom.js";
import { setQuery } from "../router.js";
import { counted } from "../format.js";
import * as stream from "../stream.js";
import { addLines, errorState, filterChips, logLine, region, searchField, sessionHref, setFollow } from "../ui.js";

const MAX_LINES = 3000;

function filtersFrom(query) {
  const levels = (query.get("level") || "").split(",").map((x) => x.trim().toUpperCase()).filter((x) => config.log_levels.includes(x));
  return { level: levels, q: query.get("q") || "", session: query.get("session") || "" };
}

export function mount(root, ctx) {
  let f = filtersFrom(ctx.route.query);
  let ctl = new AbortController();
  let start = 0;           // byte offset of the oldest line shown
  let following = true;
  let buffered = [];       // lines that arrived while paused

  const list = h("ol.loglines", { "aria-label": "Log lines" });
  const box = region("div.logscroll.logscroll--page", "Log", list);
  const older = h("button.btn.btn--ghost.btn--sm.logs__older", { hidden: true, on: { click: () => loadOlder().catch(() => {}) } }, "Load older lines");
  const status = h("p.toolbar__count", { role: "status" });
  const search = searchField({ placeholder: "Search messages", "aria-label": "Search log messages", value: f.q }, (q) => apply({ q }), 250);
  const levels = filterChips(config.log_levels, (lv) => h("button", { class: `chip chip--lvl l-${lv.toLowerCase()}`, "data-level": lv }, lv),
    () => f.level, (level) => apply({ level }));
  const sessionChip = h("span.session-filter");
  const followBtn = h("button.btn.btn--ghost.btn--sm.btn--follow", { on: { click: () => setFollowing(!following) } });
  const jump = h("button.logs__jump", { hidden: true, on: { click: () => setFollowing(true) } });

  const view = h("div.view.view--logs",
    h("header.view__head", h("div", h("h1.view__title", "Logs"), status),
      h("div.view__actions", followBtn)),
    h("div.card.toolbar", { role: "search" },
      h("div.toolbar__row", search.el,
        h("div.toolbar__chips", { role: "group", "aria-label": "Levels" }, levels.chips), sessionChip)),
    h("section.card.card--logs", older, box, jump));
  root.append(view);

  const matches = (rec) => (!f.level.length || f.level.includes(rec.level)) && (!f.session || rec.session === f.session)
    && (!f.q || (rec.message || "").toLowerCase().includes(f.q.toLowerCase()));

  const append = (recs) => addLines(list, recs, MAX_LINES, following);

  function params() { return { ...f, q: f.q.trim() }; }

  function syncControls() {
    levels.sync();
    search.set(f.q);
    sessionChip.replaceChildren();
    if (f.session) {
      sessionChip.append(h("button.chip.chip--session", { "aria-pressed": "true", title: "Show every session",
        on: { click: () => apply({ session: "" }) } }, h("span.mono", f.session), icon("close")),
      h("a.btn.btn--ghost.btn--sm", { href: sessionHref(f.session) }, "Open session"));
    }
    setFollow(followBtn, following);
    view.dataset.following = following;
  }

  async function load() {
    ctl.abort();
    ctl = new AbortController();
    buffered = [];
    jump.hidden = true;
    syncControls();
    status.textContent = "Loading…";
    try {
      const page = await api.get("/api/logs", { ...params(), limit: 400 }, ctl.signal);
      list.replaceChildren();
      start = page.start;
      older.hidden = !page.has_more_before;
      append(page.lines);
      // New filters show the newest lines: follow again (a scroll to click a marker paused it).
      setFollowing(true);
      status.textContent = page.lines.length ? `${counted(page.lines.length, "line")}${page.has_more_before ? " (older lines above)" : ""}` : "No lines match";
    } catch (err) {
      if (!aborted(err)) list.replaceChildren(h("li", errorState(err, load)));
    }
  }

  async function loadOlder() {
    const before = box.scrollHeight;
    const page = await api.get("/api/logs", { ...params(), before: start, limit: 400 }, ctl.signal);
    start = page.start;
    older.hidden = !page.has_more_before;
    list.prepend(...page.lines.map((r) => logLine(r)));
    box.scrollTop += box.scrollHeight - before;   // keep the reader's place
  }

  function apply(change) {
    f = { ...f, ...change };
    setQuery(params());
    load();
  }

  function setFollowing(on) {
    following = on;
    if (on) {
      append(buffered);
      buffered = [];
      jump.hidden = true;
      box.scrollTop = box.scrollHeight;
    }
    syncControls();
  }

  const off = stream.on("log", (rec) => {
    if (!matches(rec)) return;
    if (following) append([rec]);
    else {
      buffered.push(rec);
      if (buffered.length > MAX_LINES) buffered.shift();
      jump.hidden = false;
      jump.textContent = `${counted(buffered.length, "new line")} · follow`;
    }
  });
  const offReset = stream.on("reset", load);

  // Scrolling up to read pauses following (the button or the new-lines pill resumes it).
  box.addEventListener("scroll", () => {
    if (following && box.scrollHeight - box.scrollTop - box.clientHeight >= 40) setFollowing(false);
  }, { passive: true });

  load();
  return {
    update(route) {
      const next = filtersFrom(route.query);
      if (JSON.stringify(next) !== JSON.stringify(f)) { f = next; search.input.value = f.q; load(); }
    },
    unmount() { ctl.abort(); off(); offReset(); search.stop(); },
  };
}
