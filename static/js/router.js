// History-API routing with real links (middle-click and "copy link" work); filters live in
// the query string so a view can be bookmarked or reloaded as it was.

import { qs } from "./api.js";

const ID = "([0-9]{8}-[0-9]{6}-[a-z0-9][a-z0-9-]{0,60})";
const ROUTES = [
  ["overview", /^\/(?:overview\/?)?$/],
  ["session", new RegExp(`^/sessions?/${ID}/?$`)],
  ["live", new RegExp(`^/live(?:/${ID})?/?$`)],
  ...["sessions", "series", "gallery", "logs"].map((name) => [name, new RegExp(`^/${name}/?$`)]),
];

const listeners = new Set();

export function match(path) {
  for (const [name, re] of ROUTES) {
    const m = re.exec(path);
    if (m) return { name, id: m[1] || null };
  }
  return { name: "notfound", id: null };
}

export function current() {
  const { pathname, search } = window.location;
  return { ...match(pathname), query: new URLSearchParams(search) };
}

function emit() { const r = current(); for (const fn of listeners) fn(r); }

export function onRoute(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function navigate(url, { replace = false } = {}) {
  const target = new URL(url, window.location.href);
  if (target.href === window.location.href && !replace) return;
  window.history[replace ? "replaceState" : "pushState"](null, "", target.pathname + target.search + target.hash);
  emit();
}

/** Change only the query string (filters); replaceState so typing does not flood history. */
export function setQuery(params) {
  const url = window.location.pathname + qs(params);
  if (url !== window.location.pathname + window.location.search) window.history.replaceState(null, "", url);
}

export function start() {
  window.addEventListener("popstate", emit);
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download") || a.dataset.external !== undefined) return;
    // getAttribute: an SVG <a> (a chart bar) has no string .href.
    const url = new URL(a.getAttribute("href"), window.location.href);
    if (url.origin !== window.location.origin) return;
    if (url.pathname.startsWith("/api/") || url.pathname.startsWith("/media/")) return;
    e.preventDefault();
    navigate(url.href);
  });
  emit();
}
