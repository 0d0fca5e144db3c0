// Virtualised rows fetched in blocks: only the rows in view exist in the DOM and only their
// blocks are asked of the server, so 10,000 sessions scroll like 10.

import { h } from "./dom.js";

const BLOCK = 100;

export class VirtualRows {
  /**
   * fetchBlock(offset, limit, signal) -> Promise<{total, items}>
   * renderRow(item, index) -> Element; placeholder(index) -> Element
   */
  constructor({ label, ...opts }) {
    Object.assign(this, opts);    // rowHeight, fetchBlock, renderRow, placeholder, onTotal, onError
    this.total = null;
    this.blocks = new Map();
    this.generation = 0;
    this.ctl = new AbortController();
    this.spacer = h("div.vrows__spacer", { role: "presentation" });
    // The scroller is the rowgroup; the layer is only layout.
    this.layer = h("div.vrows__layer", { role: "presentation" });
    this.el = h("div.vrows", { role: "rowgroup", tabindex: "0", "aria-label": label }, this.spacer, this.layer);
    this.frame = 0;
    this.el.addEventListener("scroll", () => this.schedule(), { passive: true });
    this.ro = new ResizeObserver(() => this.schedule());
    this.ro.observe(this.el);
  }

  /** Start over (new filters or sort): drop every block and fetch the first. */
  reset() {
    this.ctl.abort();
    this.ctl = new AbortController();
    this.generation += 1;
    this.blocks.clear();
    this.shown = null;
    this.total = null;
    this.el.scrollTop = 0;
    return this.load(0);
  }

  load(block) {
    if (this.blocks.has(block)) return this.blocks.get(block);
    const gen = this.generation;
    const p = this.fetchBlock(block * BLOCK, BLOCK, this.ctl.signal).then((page) => {
      if (gen !== this.generation) return;
      this.blocks.set(block, page.items);
      if (this.total !== page.total) {
        this.total = page.total;
        this.spacer.style.height = this.total * this.rowHeight + "px";
        this.onTotal?.(page.total, page);
      }
      // Draw now, not next frame: the count and the rows change together.
      cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.render();
    }).catch((err) => {
      if (gen !== this.generation || err?.name === "AbortError") return;
      this.blocks.delete(block);
      this.onError?.(err);
    });
    this.blocks.set(block, p);
    return p;
  }

  item(index) {
    const b = this.blocks.get(Math.floor(index / BLOCK));
    return Array.isArray(b) ? b[index % BLOCK] : undefined;
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => { this.frame = 0; this.render(); });
  }

  render() {
    if (this.total === null) return;
    const top = this.el.scrollTop, height = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(top / this.rowHeight) - 6);
    const last = Math.min(this.total, Math.ceil((top + height) / this.rowHeight) + 6);
    // Rows still in view keep their elements (a scroll frame builds only the rows that came
    // into view), and the DOM stays in row order so Tab follows the table.
    const shown = this.shown || new Map();
    const next = new Map();
    const els = [];
    let reused = 0;
    for (let i = first; i < last; i++) {
      const item = this.item(i);
      if (item === undefined) this.load(Math.floor(i / BLOCK));
      const old = shown.get(i);
      let el = old && old.item === item ? old.el : null;
      if (el) reused++;
      else {
        el = item === undefined ? this.placeholder(i) : this.renderRow(item, i);
        el.style.transform = `translateY(${i * this.rowHeight}px)`;
        el.setAttribute("aria-rowindex", i + 2);
      }
      next.set(i, { item, el });
      els.push(el);
    }
    this.shown = next;
    if (reused === els.length && this.layer.childElementCount === els.length) return;
    // Keep keyboard focus on the same row when it is rebuilt.
    const focused = this.layer.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    // Minimal DOM work: drop rows that left, insert the new ones in place (moving a node
    // would re-style it; kept rows are already in order).
    const keep = new Set(els);
    for (const child of [...this.layer.children]) if (!keep.has(child)) child.remove();
    let cursor = this.layer.firstElementChild;
    for (const el of els) {
      if (el === cursor) cursor = cursor.nextElementSibling;
      else this.layer.insertBefore(el, cursor);
    }
    if (focused && !this.layer.contains(document.activeElement)) {
      const again = this.layer.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`);
      if (again) again.focus({ preventScroll: true });
    }
  }


  /** Swap in a fresh copy of a loaded item (matched by id); false when none is loaded. */
  replace(id, item) {
    for (const b of this.blocks.values()) {
      const i = Array.isArray(b) ? b.findIndex((x) => x.id === id) : -1;
      if (i >= 0) { b[i] = item; this.schedule(); return true; }
    }
    return false;
  }

  dispose() {
    this.ctl.abort();
    this.ro.disconnect();
    cancelAnimationFrame(this.frame);
  }
}
