// Hand-made SVG charts (no library: small and offline), drawn for the container's width.

import { config } from "./api.js";
import { h, s, HIDDEN } from "./dom.js";
import { counted, dateTime, money, pct, statusLabel } from "./format.js";
import { reducedMotion } from "./motion.js";
import { fillTrack } from "./ui.js";

/** A round step for about four gridlines up to v (0.25, 0.5, 1, 2, 5 ...). */
function niceStep(v) {
  const raw = Math.max(v, 0.01) / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function median(values) {
  const v = values.filter((x) => typeof x === "number").sort((a, b) => a - b);
  if (!v.length) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/**
 * Cost per run: one bar per session (oldest left), coloured by status, with the cap as a
 * dashed line. Bars are links to their session; one tab stop, arrow keys move between bars.
 */
export function costChart(series, { href }) {
  const wrap = h("div.chart.chart--cost");
  const tip = h("div.chart__tip", { role: "status" });
  wrap.append(tip);
  let svg = null;
  let focusIndex = series.length - 1;

  const cap = median(series.map((d) => d.cap_usd)) ?? 2;
  const maxSpent = Math.max(0, ...series.map((d) => d.spent_usd || 0));
  const step = niceStep(Math.max(cap * 1.1, maxSpent));
  const ticks = Math.ceil(Math.max(cap * 1.1, maxSpent, 0.01) / step);
  const top = step * ticks;

  function showTip(d, x, y) {
    tip.replaceChildren(
      h("strong", d.theme || d.id),
      h("span", { class: `tip__status s-${d.status}` }, statusLabel(d.status)),
      h("span", `${money(d.spent_usd)} of ${money(d.cap_usd)}`),
      h("span.muted", dateTime(d.created_at)));
    tip.style.setProperty("--x", x + "px");
    tip.style.setProperty("--y", y + "px");
    tip.classList.add("is-on");
  }
  function hideTip() { tip.classList.remove("is-on"); }

  function draw(width) {
    const height = Math.max(180, Math.min(300, Math.round(width * 0.34)));
    const pad = { l: 46, r: 12, t: 14, b: 26 };
    const iw = width - pad.l - pad.r, ih = height - pad.t - pad.b;
    const n = Math.max(series.length, 1);
    const slot = iw / n;
    const bw = Math.max(2, Math.min(28, slot * 0.62));
    const y = (v) => pad.t + ih - (Math.min(v, top) / top) * ih;
    const bars = s("g", { class: "chart__bars" }, series.map((d, i) => {
      const cx = pad.l + slot * i + slot / 2;
      const v = d.spent_usd || 0;
      const bh = Math.max(3, pad.t + ih - y(v));
      const show = () => showTip(d, cx, pad.t + ih - bh);
      return s("a", { href: href(d.id), class: `bar bar--${d.status}`, tabindex: i === focusIndex ? "0" : "-1",
        "aria-label": `${d.theme || d.id}: ${statusLabel(d.status)}, ${money(v)} of ${money(d.cap_usd)}`,
        on: { pointerenter: show, pointerleave: hideTip, focus: () => { focusIndex = i; show(); }, blur: hideTip } },
      s("rect", { class: "bar__hit", x: cx - slot / 2, y: pad.t, width: slot, height: ih }),
      s("rect", { class: "bar__fill", x: cx - bw / 2, y: pad.t + ih - bh, width: bw, height: bh, rx: Math.min(4, bw / 2),
        fill: `url(#g-${d.status})`, style: reducedMotion() ? null : { "--delay": `${Math.min(i * 12, 600)}ms` } }));
    }));
    // One tab stop: arrow keys, Home and End move between the bars.
    const keydown = (e) => {
      const links = [...bars.children];
      const i = links.indexOf(document.activeElement);
      const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: links.length - 1 }[e.key];
      if (i < 0 || to === undefined) return;
      e.preventDefault();
      const j = Math.max(0, Math.min(links.length - 1, to));
      links.forEach((l, k) => l.setAttribute("tabindex", k === j ? "0" : "-1"));
      links[j].focus();
    };
    const capY = y(cap);
    const next = s("svg", { class: "chart__svg", width, height, viewBox: `0 0 ${width} ${height}`,
      role: "group", "aria-label": `Cost per run for the last ${counted(series.length, "session")}; cap ${money(cap)}`, on: { keydown } },
    s("defs", null, config.statuses.map((st) => s("linearGradient", { id: `g-${st}`, x1: 0, y1: 0, x2: 0, y2: 1 },
      s("stop", { offset: "0", class: `stop-top s-${st}` }),
      s("stop", { offset: "1", class: `stop-bottom s-${st}` })))),
    s("g", { class: "chart__grid", "aria-hidden": "true" }, Array.from({ length: ticks + 1 }, (_, i) => {
      const v = step * i, yy = y(v);
      return [s("line", { x1: pad.l, x2: width - pad.r, y1: yy, y2: yy }),
        s("text", { x: pad.l - 8, y: yy + 4, "text-anchor": "end" }, money(v))];
    })),
    bars,
    s("g", { class: "chart__cap", "aria-hidden": "true" },
      s("line", { x1: pad.l, x2: width - pad.r, y1: capY, y2: capY }),
      s("text", { x: width - pad.r, y: capY - 6, "text-anchor": "end" }, `cap ${money(cap)}`)),
    s("g", { class: "chart__axis", "aria-hidden": "true" }, series.length ? [
      s("text", { x: pad.l, y: height - 6 }, dateTime(series[0].created_at)),
      s("text", { x: width - pad.r, y: height - 6, "text-anchor": "end" }, dateTime(series[series.length - 1].created_at))] : null));
    if (svg) svg.replaceWith(next); else wrap.prepend(next);
    svg = next;
  }

  let lastW = 0;
  const ro = new ResizeObserver((entries) => {
    const w = Math.floor(entries[0].contentRect.width);
    if (w > 0 && Math.abs(w - lastW) > 1) { lastW = w; draw(w); }
  });
  ro.observe(wrap);
  wrap.dispose = () => ro.disconnect();
  return wrap;
}

/** A ring for a rate (upload success): the share as an arc, the number in the middle. */
export function ring(rate, { label, sub }) {
  const r = 52, c = 2 * Math.PI * r;
  const value = Math.max(0, Math.min(1, rate || 0));
  const arc = s("circle", { class: "ring__arc", cx: 64, cy: 64, r, "stroke-dasharray": c.toFixed(2),
    "stroke-dashoffset": c.toFixed(2), transform: "rotate(-90 64 64)" });
  const svg = s("svg", { class: "ring__svg", viewBox: "0 0 128 128", "aria-hidden": "true" },
    s("defs", null, s("linearGradient", { id: "ring-grad", x1: 0, y1: 0, x2: 1, y2: 1 },
      s("stop", { offset: "0", class: "ring-stop-a" }), s("stop", { offset: "1", class: "ring-stop-b" }))),
    s("circle", { class: "ring__track", cx: 64, cy: 64, r }), arc);
  const el = h("div.ring", { role: "img", "aria-label": `${label}: ${rate === null ? "no uploads yet" : pct(rate, 1)}` },
    svg, h("div.ring__center", h("strong.ring__value", pct(rate)),
      h("span.ring__sub", sub)));
  // Set the arc on the next frame so the CSS transition draws it in.
  requestAnimationFrame(() => requestAnimationFrame(() => arc.setAttribute("stroke-dashoffset", (c * (1 - value)).toFixed(2))));
  return el;
}

/** Horizontal share bars: label, bar, count (the season distribution, step durations). */
export function shareBars(items, format) {
  const max = Math.max(1, ...items.map((d) => d.value || 0));
  const total = items.reduce((a, d) => a + (d.value || 0), 0);
  return h("ul.shares", items.map((d) =>
    h("li", { class: ["share", d.cls] },
      h("span.share__label", d.label),
      fillTrack((d.value || 0) / max, HIDDEN),
      h("span.share__value", format(d.value, total)))));
}
