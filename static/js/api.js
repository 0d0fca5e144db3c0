// The one door to the server: sends the per-process token (from a <meta> filled in by the
// server) and, on writes, the JSON content type a cross-site form cannot send.

const TOKEN_HEADER = "X-Studio-Token";

function token() {
  const meta = document.querySelector('meta[name="studio-token"]');
  const value = meta ? meta.getAttribute("content") : "";
  // An unfilled placeholder means the page was not served by the studio.
  return value && !value.startsWith("{{") ? value : "";
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error) || `request failed (${status})`);
    this.status = status;
    this.body = body || {};
    this.field = this.body.field || null;
    this.reason = this.body.reason || null;
  }
}

/** "?a=1&b=x,y" from an object; empty, null and empty-list values are left out. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v === null || v === undefined || v === "" || v === false) continue;
    if (Array.isArray(v)) { if (v.length) q.set(k, v.join(",")); }
    else q.set(k, String(v));
  }
  const text = q.toString();
  return text ? "?" + text : "";
}

async function request(method, path, { params, body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const t = token();
  if (t) headers[TOKEN_HEADER] = t;
  const init = { method, headers, signal, credentials: "same-origin", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path + qs(params), init);
  let data = null;
  const type = res.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try { data = await res.json(); } catch { data = null; }
  }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export const api = {
  get: (path, params, signal) => request("GET", path, { params, signal }),
  post: (path, body = {}) => request("POST", path, { body }),
};

/** Whether an error is only our own AbortController cancelling a stale request. */
export function aborted(err) { return err && err.name === "AbortError"; }
