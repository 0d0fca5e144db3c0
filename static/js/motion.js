// Animation helpers that step aside for people who asked the system for less motion.

const query = window.matchMedia("(prefers-reduced-motion: reduce)");

export function reducedMotion() { return query.matches; }

/** Count a number up into el.textContent; instant under reduced motion. */
export function countUp(el, to, format, ms = 900) {
  if (to == null || Number.isNaN(to) || reducedMotion()) {
    el.textContent = format(to);
    return;
  }
  const start = performance.now();
  const ease = (t) => 1 - Math.pow(1 - t, 3);
  const frame = (now) => {
    const t = Math.min(1, (now - start) / ms);
    el.textContent = format(to * ease(t));
    if (t < 1 && el.isConnected) requestAnimationFrame(frame);
    else el.textContent = format(to);
  };
  el.textContent = format(0);
  requestAnimationFrame(frame);
}
