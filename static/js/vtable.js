// Virtualised rows fetched in blocks: only the rows in view exist in the DOM and only their
// blocks are asked of the server, so 10,000 sessions scroll like 10.

import { h } from "./dom.js";

const BLOCK = 100;

export class VirtualRows {
  /**
   * fetchBlock(offset, limit, signal) -> Promise<{total, items}>
   * renderRow(item, index) -> Element; placeholder(index) -> Element
   */
  constructor({ rowHeight, fetchBlock, renderRow, placeholder, onTotal, label }) {
    this.rowHeight = rowHeight;
    this.fetchBlock = fetchBlock;
    this.renderRow = renderRow;
    this.placeholder = placeholder;
    this.onTotal = onTotal;
    this.total = null;
    this.blocks = new Map();
    this.generation = 0;
    this.ctl = new AbortController();
    this.spacer = h("div.vrows__spacer", { role: "presentation" });
    this.layer = h("div.vrows__layer", { role: "rowgroup" });
    this.el = h("div.vrows", { tabindex: "0", "aria-label": label || "rows" }, this.spacer, this.layer);
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
        this.onTotal && this.onTotal(page.total, page);
      }
      // Draw now, not next frame: the count and the rows change together.
      cancelAnimationFrame(this.frame);
      this.frame = 0;
      this.render();
    }).catch((err) => {
      if (gen === this.generation) this.blocks.delete(block);
      if (err && err.name !== "AbortError") throw err;
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
    const rows = [];
    for (let i = first; i < last; i++) {
      const item = this.item(i);
      if (item === undefined) this.load(Math.floor(i / BLOCK));
      const row = item === undefined ? this.placeholder(i) : this.renderRow(item, i);
      row.style.transform = `translateY(${i * this.rowHeight}px)`;
      row.setAttribute("aria-rowindex", String(i + 2));
      rows.push(row);
    }
    // Keep keyboard focus on the same row when it is redrawn.
    const focused = this.layer.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
    this.layer.replaceChildren(...rows);
    if (focused) {
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
