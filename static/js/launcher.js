// The "Start pipeline" modal: a native <dialog> (focus trap, Escape, inert page for free).
// Choices, defaults and limits come from /api/config. Fields are checked with
// store.validate_params's rules here, and again by the server, whose refusal names the field
// so its message lands next to it.

import { api, ApiError, config } from "./api.js";
import { h, icon } from "./dom.js";
import { counted, money, pct, spendLevel } from "./format.js";
import { navigate } from "./router.js";
import { fillTrack, liveHref, toast } from "./ui.js";

const PROVIDER_LABEL = { local: "Local · free", fal: "fal.ai · paid" };

let dialog = null;
let opener = null;

/** Client-side twin of store.validate_params: {field: message} for what is wrong. */
export function validate(v) {
  const errors = {};
  const { theme_chars: chars, minutes: maxMin, tracks: maxTracks } = config.limits;
  const theme = (v.theme || "").trim();
  if (!theme) errors.theme = "Give the session a theme, e.g. “rainy night”.";
  else if (theme.length > chars) errors.theme = `The theme is ${theme.length} characters; the limit is ${chars}.`;
  else if (/[\u0000-\u001f\u007f-\u009f]/.test(theme)) errors.theme = "The theme must not contain control characters.";
  else if (/[<>]/.test(theme)) errors.theme = "The theme must not contain < or > (YouTube refuses them in titles).";
  const minutes = Number(v.minutes);
  if (v.minutes === "auto") { /* the playlist's length */ }
  else if (v.minutes === "" || !Number.isFinite(minutes)) errors.minutes = "Length must be a number of minutes.";
  else if (minutes <= 0 || minutes > maxMin) errors.minutes = `Length must be more than 0 and at most ${maxMin} minutes.`;
  // Words (the default) are the server's to judge.
  const tracks = Number(v.tracks);
  if (!v.music && (!v.tracks || (/^[\d.]+$/.test(v.tracks) && !(Number.isInteger(tracks) && tracks >= 1 && tracks <= maxTracks)))) errors.tracks = `Tracks must be a whole number from 1 to ${maxTracks}.`;
  const capUsd = Number(v.cap);
  if (v.cap === "" || !Number.isFinite(capUsd) || capUsd <= 0) errors.cap = "The cap must be more than $0.";
  return errors;
}

function errorFor(name, id) { return h("p.field__error", { id, "data-error-for": name, role: "alert" }); }

function field(name, label, control, hint) {
  const id = control.id = "f-" + name;
  const help = hint ? h("p.field__hint", { id: id + "-hint" }, hint) : null;
  control.setAttribute("aria-describedby", [help && id + "-hint", id + "-err"].filter(Boolean).join(" "));
  return h("div", { class: `field field--${name}` }, h("label.field__label", { for: id }, label), control, help, errorFor(name, id + "-err"));
}

/** A served choice as radio buttons under a legend. */
function radios(name, label, checked, labels = {}) {
  return h("fieldset", { class: `field field--${name}` }, h("legend.field__label", label),
    h("div", { class: `seg seg--${name}`, role: "radiogroup", "aria-label": name },
      config.choices[name].map((v) => h("label.seg__opt",
        h("input", { type: "radio", name, value: v, checked: v === checked }),
        h("span", labels[v] || v)))),
    errorFor(name));
}

function select(name, chosen) {
  return h("select.input", { name }, config.choices[name].map((v) => h("option", { value: v, selected: v === chosen }, v)));
}

function build() {
  const def = config.defaults, L = config.limits;
  const minutes = h("input.input", { name: "minutes", type: "number", min: "0.1", max: L.minutes, step: "any", inputmode: "decimal", value: def.minutes });
  const tracks = h("input.input", { name: "tracks", type: "text", inputmode: "numeric", autocomplete: "off", value: def.tracks });
  const check = (name, checked) => h("input", { type: "checkbox", name, checked });
  const upload = check("upload", def.upload), review = check("review", def.review), whole = check("whole");
  // Your own files, picked from the data root's library/ folder (GET /api/library).
  const pick = (name) => h("select.input", { name }, h("option", { value: "" }, "Made by the runner"));
  const music = pick("music"), artwork = pick("artwork"), loopIn = pick("loop");
  const estimate = h("div.estimate", { role: "status" }, h("p.muted", "Estimate appears here."));
  const formError = h("p.form__error", { role: "alert" });
  const submit = h("button.btn.btn--primary", { type: "submit" }, icon("play"), "Start pipeline");
  const close = { click: () => d.close("cancel") };
  const cancel = h("button.btn.btn--ghost", { type: "button", value: "cancel", on: close }, "Cancel");
  const closeX = h("button.modal__close", { type: "button", "aria-label": "Close", on: close }, icon("close"));

  const form = h("form.form", { method: "dialog", novalidate: true, on: { input: onChange, change: onChange } },
    h("header.modal__head",
      h("div", h("p.eyebrow", "New session"), h("h2.modal__title", { id: "launch-title" }, "Start pipeline")), closeX),
    h("div.form__body", h("div.form__grid",
      field("theme", "Theme", h("input.input", { name: "theme", type: "text", maxlength: L.theme_chars + 40, required: true,
        autocomplete: "off", placeholder: "rainy night in the city", spellcheck: "false" }), `What the hour feels like. Up to ${L.theme_chars} characters.`),
      radios("season", "Season", def.season),
      field("atmosphere", "Atmosphere", select("atmosphere", def.atmosphere)),
      field("minutes", "Length (minutes)", minutes, "60 is an hour; 0.1 makes a six-second test."),
      field("tracks", "Tracks", tracks, `${def.tracks} (the default) or 1 to ${L.tracks}.`),
      field("privacy", "Privacy", select("privacy", def.privacy)),
      radios("provider", "Provider", def.provider, PROVIDER_LABEL),
      h("div.field.field--toggles",
        h("label.toggle", upload, h("span", "Upload to YouTube")),
        h("label.toggle", review, h("span", "Stop for review before upload")),
        errorFor("upload"),
        errorFor("review")),
      h("div.field.field--budget",
        field("cap", "Spend cap (US $)", h("input.input", { name: "cap", type: "number", min: "0.01", step: "0.01", inputmode: "decimal",
          value: def.cap.toFixed(2) }), "No paid call is ever made past it."), estimate),
      h("details.field.field--own", h("summary.field__label", "Your own files"),
        field("music", "Music", music, "A folder or playlist in library/."),
        h("label.toggle", whole, h("span", "As long as the playlist")),
        field("artwork", "Artwork", artwork), field("loop", "Loop", loopIn), field("fit", "Fit", select("fit")),
        field("license_note", "Licence note", h("input.input", { name: "license_note", type: "text", maxlength: "2000", autocomplete: "off" }),
          "Kept in provenance.json."))),
    formError),
    h("footer.modal__foot", cancel, submit));

  // A click on the backdrop (outside the form) closes, like Escape; closing gives focus back.
  const d = h("dialog.modal", { "aria-labelledby": "launch-title", on: {
    click: (e) => { if (e.target === d) d.close("cancel"); },
    close: () => { if (opener?.isConnected) opener.focus(); },
  } }, form);
  // The control a field's message belongs to (a radio group has none to mark).
  const control = (name) => (form.elements[name] instanceof Element ? form.elements[name] : null);

  /** The form's answers, trimmed; what is empty or disabled is left out. */
  function values() {
    const own = music.value;
    // Owned files are named only when picked; tracks and minutes follow the playlist.
    minutes.disabled = own && whole.checked;
    whole.disabled = !(tracks.disabled = !!own);
    const v = Object.fromEntries([...new FormData(form)].map(([k, x]) => [k, x.trim()]).filter(([, x]) => x));
    delete v.whole;
    if (!v.artwork && !v.loop) delete v.fit;
    return { ...v, minutes: minutes.disabled ? "auto" : v.minutes, upload: upload.checked, review: review.checked };
  }

  function showErrors(errors, touchedOnly) {
    for (const el of form.querySelectorAll("[data-error-for]")) {
      const name = el.dataset.errorFor;
      const msg = errors[name] && (!touchedOnly || touched.has(name)) ? errors[name] : "";
      el.textContent = msg;
      const ctl = control(name);
      if (ctl) { if (msg) ctl.setAttribute("aria-invalid", "true"); else ctl.removeAttribute("aria-invalid"); }
    }
  }

  const touched = new Set();
  let estTimer = 0;
  let estSeq = 0;

  async function refreshEstimate() {
    const v = values();
    const errors = validate({ ...v, theme: v.theme || "estimate" });
    if (errors.minutes || errors.tracks || errors.cap) {
      estimate.replaceChildren(h("p.muted", "Fix the fields above to see the estimate."));
      return;
    }
    const seq = ++estSeq;
    estimate.classList.add("is-busy");
    try {
      const res = await api.get("/api/estimate", { ...v, theme: v.theme || "estimate", upload: String(v.upload), review: String(v.review) });
      if (seq !== estSeq) return;
      const e = res.estimate || {};
      const total = e.total_usd || 0, capUsd = e.cap_usd ?? Number(v.cap);
      const ratio = capUsd ? total / capUsd : 0;
      const level = e.over_cap ? "red" : spendLevel(ratio);
      estimate.replaceChildren(
        h("div.estimate__row", h("span.label", "Estimate"),
          h("strong", { class: `estimate__total lvl--${level}`, "data-estimate": total }, money(total)),
          h("span.muted", `of ${money(capUsd)} cap · ${pct(ratio)}`)),
        h("span", { class: `spend spend--${level} spend--big` }, fillTrack(ratio)),
        h("p.estimate__assets.muted", Object.entries(e.by_asset || {}).filter(([, usd]) => usd > 0)
          .map(([a, usd]) => `${a} ${money(usd)}`).join(" · ") || "Local providers: nothing to pay."),
        e.over_cap ? h("p.field__error", "This estimate is over the cap: raise the cap or choose fewer tracks.") : "");
    } catch (err) {
      if (seq !== estSeq) return;
      if (err instanceof ApiError && err.field) { touched.add(err.field); showErrors({ [err.field]: err.message }, false); }
      estimate.replaceChildren(h("p.field__error", `No estimate: ${err.message}`));
    } finally {
      if (seq === estSeq) estimate.classList.remove("is-busy");
    }
  }

  function onChange(e) {
    if (e.target.name) touched.add(e.target.name);
    showErrors(validate(values()), true);
    clearTimeout(estTimer);
    estTimer = setTimeout(refreshEstimate, 250);
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const v = values();
    const errors = validate(v);
    for (const el of form.elements) if (el.name) touched.add(el.name);
    showErrors(errors, false);
    formError.textContent = "";
    if (Object.keys(errors).length) {
      control(Object.keys(errors)[0])?.focus();
      return;
    }
    submit.disabled = true;
    submit.classList.add("is-busy");
    try {
      const body = { ...v, minutes: Number(v.minutes) || v.minutes, tracks: Number(v.tracks) || v.tracks, cap: Number(v.cap) };
      const res = await api.post("/api/launch", body);
      d.close("started");
      toast(`Started “${body.theme}”`, "ok");
      navigate(liveHref(res.id));
    } catch (err) {
      if (err instanceof ApiError && err.field && form.querySelector(`[data-error-for="${err.field}"]`)) {
        showErrors({ [err.field]: err.message }, false);
        control(err.field)?.focus();
      } else {
        formError.textContent = err.message;
      }
    } finally {
      submit.disabled = false;
      submit.classList.remove("is-busy");
    }
  });

  d.resetForOpen = () => {
    touched.clear();
    formError.textContent = "";
    api.get("/api/library").then((lib) => {
      for (const [sel, items] of [[music, lib.music], [artwork, lib.artwork], [loopIn, lib.loop]]) {
        const was = sel.value;
        sel.replaceChildren(sel.options[0], ...items.map((i) => h("option", { value: i.path, selected: i.path === was },
          i.path.slice(8) + (i.tracks ? ` · ${counted(i.tracks, "track")}` : ""))));
      }
      values();
    }).catch(() => {});
    showErrors({}, false);
    refreshEstimate();
    // Say up front when a start would be refused (read-only studio, or a run already going).
    submit.disabled = false;
    const { enabled, max_runs: max } = config.launcher;
    if (!enabled) { submit.disabled = true; formError.textContent = "The launcher is off: this studio was started with --no-launcher."; return; }
    api.get("/api/launcher").then((l) => {
      if (l.busy.length >= max) formError.textContent = `Busy: ${l.busy.join(", ")} is still running; the studio starts ${max} at a time.`;
    }).catch(() => {});
  };
  return d;
}

export function openLauncher(from) {
  if (!dialog) { dialog = build(); document.body.append(dialog); }
  opener = from || document.activeElement;
  dialog.resetForOpen();
  dialog.showModal();
  dialog.querySelector('input[name="theme"]').focus();
}
