// Building blocks shared by the lessons' interactive demos (temperature-demo.js, pipeline-demo.js):
// DOM construction, reading a mount's data attributes, percentages, labelled probability bars and
// logit inputs. Each demo imports what it needs (`import { el, barList } from "./demo-kit.js"`), so
// a page loads this module through the demo's own <script type="module"> and needs no tag of its own.
// The markup it builds is styled by demo-kit.css, which each demo's stylesheet imports.
import { argmax } from "./kd-math.js";

/** The lessons' worked example, an email classifier: its classes, a teacher's and a student's logits for one email. */
export const LESSON_EXAMPLE = Object.freeze({
  classes: Object.freeze(["spam", "promotions", "social", "primary"]),
  teacher: Object.freeze([5, 2, 1, -2]),
  student: Object.freeze([3, 2.5, 0.5, -1]),
});

/** The largest |logit| a learner may type (inputs beyond it are flagged and ignored). */
export const LOGIT_LIMIT = 50;

/** An element with attributes (`text` sets its text, `class` its class; null/false are left out) and children. */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of [].concat(children)) if (child != null && child !== false) node.append(child);
  return node;
}

/** The mount's `data-<name>` attribute parsed as JSON, or `fallback` when it is missing, malformed or fails `check`. */
export function readJSON(mount, name, fallback, check) {
  const raw = mount.dataset[name];
  if (!raw) return fallback;
  try {
    const value = JSON.parse(raw);
    return check(value) ? value : fallback;
  } catch {
    return fallback;
  }
}

/** The mount's `data-<name>` attribute as a number clamped to [min, max], or `fallback` when it is not one. */
export function readNumber(mount, name, fallback, min, max) {
  const v = Number.parseFloat(mount.dataset[name]);
  return Number.isFinite(v) ? Math.min(max, Math.max(min, v)) : fallback;
}

/** A check for readJSON: an array of `n` finite numbers, none larger in size than `limit`. */
export const isNumbers = (n, limit = Infinity) => (v) =>
  Array.isArray(v) && v.length === n && v.every((x) => Number.isFinite(x) && Math.abs(x) <= limit);

/** A check for readJSON: between 2 and 12 class names. */
export const isClassNames = (v) =>
  Array.isArray(v) && v.length >= 2 && v.length <= 12 && v.every((s) => typeof s === "string");

/** A probability as a percentage with one decimal, saying "<0.1%" / ">99.9%" rather than rounding to 0 or 100. */
export function formatPercent(p) {
  if (p > 0 && p < 0.001) return "<0.1%";
  if (p < 1 && p > 0.9995) return ">99.9%";
  return `${(p * 100).toFixed(1)}%`;
}

/** Adds the stylesheet `<name>.css` that sits next to the module at `base` (its import.meta.url), unless linked. */
export function ensureStylesheet(name, base) {
  const href = new URL(`./${name}.css`, base).href;
  const pattern = new RegExp(`${name}(\\.[0-9a-f]+)?\\.css(\\?|$)`);
  const present = Array.from(document.querySelectorAll('link[rel="stylesheet"]'))
    .some((link) => link.href === href || pattern.test(link.href));
  if (!present) document.head.append(el("link", { rel: "stylesheet", href }));
}

/**
 * A list of labelled probability bars, one per class, each row marked data-testid="<testid>-<i>";
 * `kind` names the series (class demo-bars-<kind>). Returns {root, update(probs)}: update sets each
 * row's data-value to its probability and marks the most likely class.
 */
export function barList({ id, label, classes, testid, kind }) {
  const list = el("ul", { class: `demo-bars demo-bars-${kind}`, id, "aria-label": label });
  const rows = classes.map((name, i) => {
    const fill = el("span", { class: "demo-bar-fill" });
    const value = el("span", { class: "demo-bar-value" });
    const row = el("li", { class: "demo-bar", "data-testid": `${testid}-${i}` }, [
      el("span", { class: "demo-bar-label", text: name }),
      el("span", { class: "demo-bar-track", "aria-hidden": "true" }, [fill]),
      value,
    ]);
    list.append(row);
    return { row, fill, value };
  });
  return {
    root: list,
    update(probs) {
      const top = argmax(probs);
      probs.forEach((p, i) => {
        const { row, fill, value } = rows[i];
        row.dataset.value = String(p);
        row.classList.toggle("is-top", i === top);
        fill.style.width = `${(p * 100).toFixed(3)}%`;
        value.textContent = formatPercent(p);
      });
    },
  };
}

/**
 * One labelled number input per class for `who`'s logits ("Teacher" / "Student"), editing `values`
 * in place: a value within ±LOGIT_LIMIT is stored and `onChange` called; anything else is flagged
 * aria-invalid and ignored. Returns the group's element.
 */
export function logitInputs({ prefix, who, classes, values, testid, onChange }) {
  const group = el("div", { class: "demo-logits" });
  classes.forEach((name, i) => {
    const id = `${prefix}-${who.toLowerCase()}-logit-${i}`;
    const input = el("input", {
      type: "number", id, step: "0.5", min: -LOGIT_LIMIT, max: LOGIT_LIMIT, value: values[i],
      inputmode: "decimal", "data-testid": `${testid}-${i}`,
    });
    input.addEventListener("input", () => {
      const v = input.valueAsNumber;
      const ok = Number.isFinite(v) && Math.abs(v) <= LOGIT_LIMIT;
      input.setAttribute("aria-invalid", ok ? "false" : "true");
      if (ok) {
        values[i] = v;
        onChange();
      }
    });
    group.append(el("div", { class: "demo-logit" }, [
      el("label", { for: id }, [el("span", { class: "visually-hidden", text: `${who} logit for ` }), name]),
      input,
    ]));
  });
  return group;
}

/** Makes `mount` the demo's frame holding `children`: a group named `title`, classed demo-root and `rootClass`. */
export function fillMount(mount, { title, rootClass, children }) {
  mount.replaceChildren(...children);
  mount.classList.add("demo-root", rootClass);
  mount.setAttribute("role", "group");
  mount.setAttribute("aria-label", title);
}

/**
 * Builds every mount matching `selector` under `root` that is not built yet, after adding the demo's
 * stylesheet (`<stylesheet>.css` next to the module at `base`): `build(mount)` fills the mount and
 * returns its update(), which runs once at once; the mount then gets data-ready="true".
 */
export function initDemos(root, selector, build, stylesheet, base) {
  const mounts = Array.from(root.querySelectorAll(selector)).filter((mount) => mount.dataset.ready !== "true");
  if (mounts.length) ensureStylesheet(stylesheet, base);
  for (const mount of mounts) {
    build(mount)();
    mount.dataset.ready = "true";
  }
}

/** Runs `init` once the document is parsed (at once when it already is). */
export function whenReady(init) {
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => init());
  else init();
}
