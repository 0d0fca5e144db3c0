// Gallery: artwork cards, newest first; thumbnails load lazily and pages arrive on scroll.

import { api, aborted, config } from "../api.js";
import { h } from "../dom.js";
import { ago, cap, counted } from "../format.js";
import { emptyState, errorState, ribbons, sessionHref, statusBadge } from "../ui.js";

const PAGE = 48;

export function mount(root, ctx) {
  const ctl = new AbortController();
  const grid = h("div.gallery", { role: "list" });
  const more = h("button.btn.btn--ghost.gallery__more", { hidden: true, on: { click: loadMore } }, "Load more");
  const shown = h("p.toolbar__count", { role: "status" }, "Loading…");
  const view = h("div.view.view--gallery",
    h("header.view__head", h("div", h("h1.view__title", "Gallery"), shown)),
    grid, more);
  root.append(view);
  let offset = 0;
  let total = null;
  let busy = false;

  async function loadMore() {
    if (busy || (total !== null && offset >= total)) return;
    busy = true;
    try {
      const page = await api.get("/api/sessions", { offset, limit: PAGE, status: config.statuses.filter((st) => st !== "unreadable") }, ctl.signal);
      total = page.total;
      offset += page.items.length;
      if (!total) grid.replaceWith(emptyState("No artwork yet", "Start a pipeline and its cover art appears here.",
        ctx.launchButton()));
      for (const r of page.items) grid.append(cardFor(r));
      shown.textContent = counted(total, "session");
      more.hidden = offset >= total;
    } catch (err) {
      if (!aborted(err)) view.replaceChildren(errorState(err, () => location.reload()));
    } finally {
      busy = false;
    }
  }

  // Fetch the next page before the reader reaches the end.
  const io = new IntersectionObserver((entries) => { if (entries.some((e) => e.isIntersecting)) loadMore(); },
    { rootMargin: "600px 0px" });
  io.observe(more);
  loadMore();
  return { unmount() { ctl.abort(); io.disconnect(); } };
}

function cardFor(r) {
  const media = h("div.tile__media");
  if (r.thumbnail_url) {
    media.append(h("img.tile__img", { src: r.thumbnail_url, alt: "", loading: "lazy", decoding: "async", width: "320", height: "180",
      on: { load() { this.classList.add("is-loaded"); }, error() { this.remove(); } } }));
  } else {
    media.classList.add("tile__media--none");
    media.append(h("span.tile__none", r.readable ? "No artwork yet" : "Unreadable session"));
  }
  media.append(ribbons("div.ribbons", r.youtube_url, r.has_loop, r.has_final ? r.minutes : null));
  return h("a", { class: "tile", href: sessionHref(r.id), role: "listitem",
    "aria-label": `${r.theme || r.id}, ${r.status}` },
  media,
  h("div.tile__body",
    h("h2.tile__title", r.theme || r.id),
    h("p.tile__meta", statusBadge(r.status), h("span", [cap(r.season || ""), ago(r.created_at)].filter(Boolean).join(" · ")))));
}
