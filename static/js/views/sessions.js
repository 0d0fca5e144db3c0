// Sessions: the server filters and sorts (so the table and the exports show the same rows);
// filters live in the URL; the body is virtualised.

import { api, config, qs } from "../api.js";
import { h, icon, HIDDEN } from "../dom.js";
import { ago, bytes, counted, dateTimeFull, duration, length, num, statusLabel } from "../format.js";
import { navigate, setQuery } from "../router.js";
import * as stream from "../stream.js";
import { emptyState, filterChips, searchField, seasonChip, sessionHref, spendBar, statusBadge, throttle } from "../ui.js";
import { VirtualRows } from "../vtable.js";

// Each column's header and the cell it shows for a row r.
const COLUMNS = [
  { key: "status", label: "Status", sort: "status", show: (r) => statusBadge(r.status) },
  { key: "theme", label: "Theme", sort: "theme", show: (r) => [
    h("a.vrow__link", { href: sessionHref(r.id), "data-focus-key": r.id }, r.theme || r.id),
    h("span.vrow__sub", r.error || (r.series ? `series ${r.series} · ${r.entry}` : r.title || r.id))] },
  { key: "season", label: "Season", sort: "season", cls: "col--opt", show: (r) => seasonChip(r.season) },
  { key: "length", label: "Length", sort: "minutes", cls: "col--opt col--num", show: (r) => length(r.minutes) },
  { key: "tracks", label: "Tracks", sort: "tracks_rendered", cls: "col--opt col--num",
    show: (r) => (r.tracks != null ? `${num(r.tracks_rendered)}/${num(r.tracks)}` : "–") },
  { key: "spend", label: "Spend / cap", sort: "spent_usd", show: (r) => (r.cap_usd != null ? spendBar(r.spent_usd, r.cap_usd) : "–") },
  { key: "started", label: "Started", sort: "created_at", cls: "col--opt2", show: (r) => ago(r.created_at),
    title: (r) => dateTimeFull(r.created_at) },
  { key: "duration", label: "Duration", sort: "duration_s", cls: "col--opt col--num", show: (r) => duration(r.duration_s) },
  { key: "disk", label: "Disk", sort: "disk_bytes", cls: "col--opt col--num", show: (r) => bytes(r.disk_bytes) },
];
const ROW_H = 56;
const NO_FILTERS = { status: [], season: [], series: [], q: "", from: "", to: "" };

function filtersFrom(query) {
  const list = (k) => (query.get(k) || "").split(",").map((x) => x.trim()).filter(Boolean);
  const sort = query.get("sort") || "";
  return {
    status: list("status").filter((x) => config.statuses.includes(x)),
    season: list("season").filter((x) => config.choices.season.includes(x)),
    series: list("series").filter((x) => /^[a-z0-9][a-z0-9-]{0,60}$/.test(x)),
    q: query.get("q") || "",
    from: query.get("from") || "",
    to: query.get("to") || "",
    sort: config.sortable.includes(sort.replace(/^[-+]/, "")) ? sort : "-created_at",
  };
}

export function mount(root, ctx) {
  let f = filtersFrom(ctx.route.query);
  const view = h("div.view.view--sessions");
  root.append(view);

  const shown = h("p.toolbar__count", { role: "status" }, "Loading…");
  const search = searchField({ name: "q", placeholder: "Search theme, title or id", "aria-label": "Search sessions", value: f.q },
    (q) => apply({ q }), 200);
  const date = (name, label) => h("input.input.input--date", { type: "date", name, "aria-label": label, value: f[name],
    on: { change: (e) => apply({ [name]: e.target.value }) } });
  const fromInput = date("from", "Started from"), toInput = date("to", "Started until");
  const failedOnly = h("button.chip.chip--failed-only.s-failed", { "aria-pressed": "false",
    on: { click: () => apply({ status: failedOnly.getAttribute("aria-pressed") === "true" ? [] : ["failed"] }) } }, icon("alert"), "Failed only");
  const statuses = filterChips(config.statuses, (st) => h("button", { class: `chip s-${st}`, "data-status": st },
    h("span.chip__dot", HIDDEN), statusLabel(st)), () => f.status, (status) => apply({ status }));
  const seasons = filterChips(config.choices.season, (se) => h("button", { class: `chip se-${se}`, "data-season": se }, se),
    () => f.season, (season) => apply({ season }));
  const clear = { click: () => apply(NO_FILTERS) };
  const clearBtn = h("button.btn.btn--ghost.btn--sm", { on: clear }, "Clear filters");
  // Set from the Series view's "Its sessions" link; pressing it drops the series filter.
  const seriesChip = h("button.chip.chip--series", { "aria-pressed": "true", hidden: true, on: { click: () => apply({ series: [] }) } });
  const exports = ["csv", "json"].map((x) => h("a.btn.btn--ghost.btn--sm", { download: "", "data-export": x }, icon("download"), x.toUpperCase()));

  const head = h("div.vtable__head", { role: "row", "aria-rowindex": "1" });
  const table = h("div.vtable", { role: "table", "aria-label": "Sessions", "aria-rowcount": "0" }, head);
  const rows = new VirtualRows({
    rowHeight: ROW_H,
    label: "Session rows",
    fetchBlock: (offset, limit, signal) => api.get("/api/sessions", { ...apiFilters(), offset, limit }, signal),
    renderRow,
    placeholder: (i) => h("div.vrow.vrow--ghost", { role: "row" }, h("span.skeleton__line", { style: { "--w": 30 + ((i * 37) % 50) + "%" } })),
    onTotal: (total, page) => {
      table.setAttribute("aria-rowcount", total + 1);
      shown.replaceChildren(h("strong", num(total)), ` of ${counted(page.all_total, "session")}`,
        page.disk_bytes != null ? ` · ${bytes(page.disk_bytes)} on disk` : "");
      empty.hidden = total !== 0;
      rows.el.hidden = total === 0;
    },
    // A refused filter (say, a bad date) is explained where the count goes; the controls
    // stay, so it can be fixed in place.
    onError: (err) => { shown.replaceChildren(h("span.field__error", { role: "alert" }, err.message)); },
  });
  const empty = emptyState("No sessions match these filters", null,
    h("button.btn.btn--ghost", { on: clear }, "Clear filters"));
  empty.hidden = true;
  table.append(rows.el);

  view.append(
    h("header.view__head",
      h("div", h("h1.view__title", "Sessions"), shown),
      h("div.view__actions", h("span.muted.export-label", "Export view"), exports)),
    h("div.card.toolbar", { role: "search" },
      h("div.toolbar__row",
        search.el,
        h("div.toolbar__dates", h("label.dfield", h("span", "From"), fromInput),
          h("label.dfield", h("span", "To"), toInput)),
        failedOnly, seriesChip, clearBtn),
      h("div.toolbar__row.toolbar__chips", { role: "group", "aria-label": "Status" }, statuses.chips),
      h("div.toolbar__row.toolbar__chips", { role: "group", "aria-label": "Season" }, seasons.chips)),
    h("div.card.card--table", table, empty));

  function apiFilters() { return { ...f, q: f.q.trim() }; }

  function renderHead() {
    const [dir, key] = f.sort.startsWith("-") ? ["descending", f.sort.slice(1)] : ["ascending", f.sort.replace(/^\+/, "")];
    head.replaceChildren(...COLUMNS.map((c) => {
      const active = c.sort === key;
      // A second click turns the order round; words start A to Z, numbers and dates largest first.
      const click = () => apply({ sort: (active ? dir === "descending" : ["theme", "season", "status"].includes(c.sort)) ? c.sort : "-" + c.sort });
      return h("div", { class: ["cell", "cell--head", `col--${c.key}`, c.cls], role: "columnheader", "aria-sort": active ? dir : "none" },
        h("button.sort", { "data-sort": c.sort, on: { click } }, c.label, h("span.sort__arrow", HIDDEN, active ? (dir === "descending" ? "↓" : "↑") : "")));
    }));
  }

  function renderRow(r) {
    return h("div", { class: `vrow vrow--${r.status}`, role: "row", "data-id": r.id,
      on: { click: (e) => { if (!e.target.closest("a")) navigate(sessionHref(r.id)); } } }, COLUMNS.map((c) =>
      h("div", { class: ["cell", `col--${c.key}`, c.cls], role: "cell", title: c.title?.(r) }, c.show(r))));
  }

  function syncControls() {
    search.set(f.q);
    fromInput.value = f.from; toInput.value = f.to;
    statuses.sync();
    seasons.sync();
    failedOnly.setAttribute("aria-pressed", f.status.length === 1 && f.status[0] === "failed");
    seriesChip.hidden = !f.series.length;
    seriesChip.textContent = `Series: ${f.series.join(", ")} ✕`;
    clearBtn.disabled = !(f.status.length || f.season.length || f.series.length || f.q || f.from || f.to);
    for (const a of exports) a.href = `/api/sessions.${a.dataset.export}` + qs(apiFilters());
    renderHead();
  }

  function apply(change) {
    f = { ...f, ...change };
    setQuery({ ...apiFilters(), sort: f.sort === "-created_at" ? "" : f.sort });
    refresh();
  }

  function refresh() {
    syncControls();
    shown.textContent = "Loading…";
    rows.reset();
  }

  // A session on screen is updated in place; a new one refetches (at most every 2 s),
  // keeping the scroll position.
  const refetch = throttle(() => {
    const keep = rows.el.scrollTop;
    rows.reset().then(() => { rows.el.scrollTop = keep; rows.schedule(); });
  }, 2000);
  const off = stream.on("session", (ev) => { if (!ev.row || !rows.replace(ev.id, ev.row)) refetch.poke(); });

  refresh();
  return {
    update(route) {
      const next = filtersFrom(route.query);
      if (JSON.stringify(next) !== JSON.stringify(f)) { f = next; refresh(); }
    },
    unmount() { off(); refetch.cancel(); search.stop(); rows.dispose(); },
    rows,
  };
}
