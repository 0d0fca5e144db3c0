// One EventSource shared by every view. The browser reconnects with Last-Event-ID and the
// server replays what was missed; a "reset" means it could not, and views reload. Silence for
// 2.5 heartbeats (heartbeat_s, /api/config) means a dead connection: open a new one.

import { config } from "./api.js";

const TYPES = ["hello", "session", "session_removed", "timeline", "log", "log_gap", "reset", "heartbeat", "error"];

// The connection states as the page names them.
export const LABELS = { connected: "Connected", reconnecting: "Reconnecting…", connecting: "Connecting…", offline: "Offline" };

let source = null;
let quiet = 0;
let state = "connecting";           // connecting | connected | reconnecting | offline
const handlers = new Map();          // type -> Set(fn)
const stateListeners = new Set();

function watch() {
  clearTimeout(quiet);
  quiet = setTimeout(() => {
    source?.close();
    source = null;
    setState("reconnecting");
    connect();
  }, config.heartbeat_s * 2500);
}

function setState(next) {
  if (next === state) return;
  state = next;
  for (const fn of stateListeners) fn(state);
}

function dispatch(type, data) {
  const set = handlers.get(type);
  if (!set) return;
  for (const fn of [...set]) {
    try { fn(data); } catch (err) { console.warn("stream handler failed", type, err); }
  }
}

export function connect() {
  if (source) return;
  source = new EventSource("/api/stream");
  watch();
  source.addEventListener("open", () => setState("connected"));
  source.addEventListener("error", () => {
    // CONNECTING means the browser is retrying by itself; CLOSED means it gave up (for
    // example the server answered 503), so try again later ourselves.
    if (source.readyState === EventSource.CLOSED) {
      setState("offline");
      source = null;
      setTimeout(connect, 4000);
    } else {
      setState("reconnecting");
    }
  });
  for (const type of TYPES) {
    source.addEventListener(type, (ev) => {
      // The server's own "error" events share their name with the connection's error
      // event; only a MessageEvent carries data from the server.
      if (!(ev instanceof MessageEvent)) return;
      watch();
      if (state !== "connected") setState("connected");
      let data = null;
      try { data = ev.data ? JSON.parse(ev.data) : null; } catch { return; }
      dispatch(type, data);
    });
  }
}

export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(fn);
  return () => handlers.get(type).delete(fn);
}

export function connection() { return state; }

export function onConnection(fn) {
  stateListeners.add(fn);
  fn(state);
  return () => stateListeners.delete(fn);
}
