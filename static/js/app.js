// Boot: wire the shell index.html already painted, then load each view on demand: a route's
// name is its module's, views/<name>.js, with mount(root, ctx) -> {unmount, update?}.

import { config, loadConfig } from "./api.js";
import { h, icon } from "./dom.js";
import { cap } from "./format.js";
import { openLauncher } from "./launcher.js";
import * as router from "./router.js";
import * as stream from "./stream.js";
import { errorState } from "./ui.js";

const main = document.getElementById("main");
const launch = document.getElementById("launch");
const openIt = () => openLauncher(launch);
let active = null;         // {name, id, instance}
let token = 0;

const ctx = {
  route: null,
  launchButton: () => h("button.btn.btn--primary", { on: { click: openIt } }, icon("plus"), "Start pipeline"),
};

function markNav(name) {
  // A session's page lights Sessions.
  const lit = "/" + (name === "overview" ? "" : name === "session" ? "sessions" : name);
  for (const a of document.querySelectorAll(".nav a")) {
    if (a.getAttribute("href") === lit) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
}

async function show(route) {
  ctx.route = route;
  markNav(route.name);
  document.title = `${route.name === "notfound" ? "Not found" : cap(route.name)} · Badger Tape Studio`;
  if (active?.name === route.name && active.id === route.id && active.instance?.update) {
    active.instance.update(route);
    return;
  }
  const mine = ++token;
  active?.instance?.unmount();
  active = null;
  if (route.name === "notfound") {
    main.replaceChildren(h("div.empty", h("h1", "Nothing here"), h("a.btn.btn--ghost", { href: "/" }, "Back to the overview")));
    return;
  }
  const mod = await import(`./views/${route.name}.js`);
  if (mine !== token) return;
  main.replaceChildren();
  main.dataset.view = route.name;
  active = { name: route.name, id: route.id, instance: mod.mount(main, ctx) };
  // Move focus to the page for keyboard and screen-reader users, but not on first load.
  if (show.started) main.focus({ preventScroll: true });
  show.started = true;
  window.scrollTo({ top: 0 });
}

function connectionPill() {
  const pill = document.getElementById("conn");
  const text = pill.querySelector(".conn__text");
  stream.onConnection((state) => {
    pill.className = `conn conn--${state}`;
    text.textContent = state === "connected" ? "Live" : stream.LABELS[state];
    pill.title = state === "connected" ? "Receiving live updates" : "Live updates paused; retrying";
  });
}

launch.addEventListener("click", openIt);
document.addEventListener("keydown", (e) => {
  // "n" starts a new session from anywhere (not while typing).
  if (e.key === "n" && !e.ctrlKey && !e.metaKey && !e.altKey && !e.target.closest("input, textarea, select, [contenteditable], dialog")) {
    e.preventDefault();
    openIt();
  }
});
// Start after the first frame: the shell index.html painted is on screen at once, and the
// view's work (and its requests) follows instead of holding that first paint back. The
// costly decoration (glow, blur, shimmer: .fx in app.css) switches on then too. Views wait
// for /api/config, which says what they show.
async function boot() {
  try {
    await loadConfig();
  } catch (err) {
    main.replaceChildren(errorState(err, boot));
    return;
  }
  document.querySelector(".brand").title = `Badger Tape Studio ${config.version} · data in ${config.root}`;
  stream.connect();
  router.onRoute(show);
  router.start();
}
requestAnimationFrame(() => setTimeout(() => {
  document.documentElement.classList.add("fx");
  connectionPill();
  boot();
}));
