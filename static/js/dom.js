// DOM building without HTML strings: data reaches the page only as text nodes and attribute
// values, so a theme like "<img onerror=...>" is just text.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, child) {
  if (child == null || child === false) return;
  if (Array.isArray(child)) { for (const c of child) append(parent, c); return; }
  parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
}

function apply(el, props) {
  if (!props) return el;
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === "class") el.setAttribute("class", Array.isArray(v) ? v.filter(Boolean).join(" ") : v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === "style") for (const [p, val] of Object.entries(v)) el.style.setProperty(p, val);
    else if (k === "props") Object.assign(el, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  return el;
}

/** h("a.btn.btn--ghost", {href}, "text", child...): classes may ride on the tag name. */
export function h(tag, props, ...children) {
  // Props may be left out: a string, node or list in their place is the first child.
  if (props != null && (typeof props !== "object" || props instanceof Node || Array.isArray(props))) {
    children.unshift(props);
    props = null;
  }
  const [name, ...cls] = tag.split(".");
  const el = apply(document.createElement(name), props);
  if (cls.length) el.classList.add(...cls);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts, icons). */
export function s(tag, props, ...children) {
  const el = apply(document.createElementNS(SVG_NS, tag), props);
  append(el, children);
  return el;
}

// For decoration screen readers skip.
export const HIDDEN = { "aria-hidden": "true" };

// Stroke icons on a 24-unit grid: constant path data written here, never from the server.
const ICONS = {
  sessions: "M4 6h16M4 12h16M4 18h16",
  live: "M12 12m-2 0a2 2 0 1 0 4 0a2 2 0 1 0-4 0M7.8 7.8a6 6 0 0 0 0 8.4M16.2 7.8a6 6 0 0 1 0 8.4M5 5a10 10 0 0 0 0 14M19 5a10 10 0 0 1 0 14",
  play: "M8 5v14l11-7z",
  pause: "M7 5h4v14H7zM13 5h4v14h-4z",
  plus: "M12 5v14M5 12h14",
  check: "M5 12.5l4.5 4.5L19 7.5",
  skip: "M6 12h12",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  search: "M11 11m-6 0a6 6 0 1 0 12 0a6 6 0 1 0-12 0M20 20l-4.5-4.5",
  external: "M14 4h6v6M20 4l-9 9M18 14v6H4V6h6",
  close: "M6 6l12 12M18 6L6 18",
  alert: "M12 4l9 16H3zM12 10v4M12 17v.01",
  resume: "M6 5v14l8-7zM16 5h2v14h-2z",
  approve: "M12 3l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.4 6.8 19.1l1-5.8L3.5 9.2l5.9-.9z",
  music: "M9 18V6l11-2v12M9 18a3 3 0 1 1-6 0a3 3 0 1 1 6 0M20 16a3 3 0 1 1-6 0a3 3 0 1 1 6 0",
  coin: "M12 12m-8 0a8 8 0 1 0 16 0a8 8 0 1 0-16 0M14.5 9.5c-.5-1-1.5-1.5-2.5-1.5-1.5 0-2.5.8-2.5 2s1 1.6 2.5 2 2.5.8 2.5 2-1 2-2.5 2c-1 0-2-.5-2.5-1.5M12 6.5V8M12 16v1.5",
  upload: "M12 20V9M7 14l5-5 5 5M5 4h14",
  arrow: "M5 12h14M13 6l6 6-6 6",
  back: "M19 12H5M11 6l-6 6 6 6",
};

export function icon(name, cls = "icon") {
  return s("svg", { class: cls, viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" },
    s("path", { d: ICONS[name] }));
}
