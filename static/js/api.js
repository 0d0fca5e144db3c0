// The one door to the server. GET /api/config, read once before any view runs, says what the
// page needs (the token, steps, statuses, choices, limits...). Writes also send the JSON
// content type a cross-site form cannot send.

/** The /api/config answer; null until loadConfig() resolves. */
export let config = null;

export async function loadConfig() { config = await request("GET", "/api/config"); }

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error || `request failed (${status})`);
    this.status = status;
    this.field = body?.field || null;
  }
}

/** "?a=1&b=x,y" from an object; empty, null and empty-list values are left out. */
export function qs(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v == null || v === "" || v === false) continue;
    if (Array.isArray(v)) { if (v.length) q.set(k, v.join(",")); }
    else q.set(k, String(v));
  }
  const text = q.toString();
  return text ? "?" + text : "";
}

async function request(method, path, { params, body, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (config) headers[config.token_header] = config.token;
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
  /** The newest session row matching params (a status filter...), or null. */
  first: async (params, signal) => (await request("GET", "/api/sessions", { params: { ...params, limit: 1 }, signal })).items[0] || null,
};

/** Whether an error is only our own AbortController cancelling a stale request. */
export function aborted(err) { return err?.name === "AbortError"; }
