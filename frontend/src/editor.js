// Entry point for challenges/static/challenges/vendor/codemirror/codemirror.bundle.js.
// Exposes window.LearnpathEditor.create(textarea, {readOnly}) which replaces a
// <textarea> with a CodeMirror 6 Python editor and keeps the textarea's value in
// sync, so ordinary form submission (and anything reading textarea.value) works.
import { EditorState, Compartment } from "@codemirror/state";
import {
  EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter,
  highlightSpecialChars, drawSelection, dropCursor, rectangularSelection,
} from "@codemirror/view";
import {
  defaultKeymap, history, historyKeymap, indentWithTab,
} from "@codemirror/commands";
import {
  indentOnInput, bracketMatching, syntaxHighlighting, defaultHighlightStyle,
  HighlightStyle, indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { python } from "@codemirror/lang-python";
import { tags as t } from "@lezer/highlight";

// Colours come from CSS custom properties so the editor follows the site's
// light/dark palette (prefers-color-scheme) without re-creating the editor.
const baseTheme = EditorView.theme({
  "&": {
    color: "var(--cm-fg, #1f2328)",
    backgroundColor: "var(--cm-bg, #ffffff)",
    fontSize: "0.95rem",
    border: "1px solid var(--cm-border, #8c959f)",
    borderRadius: "8px",
  },
  "&.cm-focused": {
    outline: "3px solid var(--cm-focus, #2f6fdb)",
    outlineOffset: "2px",
  },
  ".cm-scroller": {
    fontFamily: "ui-monospace, SFMono-Regular, 'SF Mono', Menlo, Consolas, 'Liberation Mono', monospace",
    lineHeight: "1.55",
    minHeight: "var(--cm-min-height, 16rem)",
  },
  "&.lp-readonly .cm-scroller": { minHeight: "0" },
  ".cm-content": { caretColor: "var(--cm-caret, #1f2328)", padding: "0.5rem 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--cm-caret, #1f2328)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, ::selection":
    { backgroundColor: "var(--cm-selection, #c8dcff)" },
  ".cm-gutters": {
    backgroundColor: "var(--cm-gutter-bg, #f6f8fa)",
    color: "var(--cm-gutter-fg, #57606a)",
    borderRight: "1px solid var(--cm-border, #d0d7de)",
    borderRadius: "8px 0 0 8px",
  },
  ".cm-activeLine": { backgroundColor: "var(--cm-active-line, rgba(47,111,219,0.06))" },
  ".cm-activeLineGutter": { backgroundColor: "var(--cm-active-line, rgba(47,111,219,0.10))" },
  "&.cm-focused .cm-matchingBracket": {
    backgroundColor: "var(--cm-bracket, rgba(47,111,219,0.22))",
    outline: "1px solid var(--cm-bracket-border, rgba(47,111,219,0.6))",
  },
  "&.cm-focused .cm-nonmatchingBracket": { backgroundColor: "rgba(207,34,46,0.25)" },
  "&.cm-editor[aria-readonly=true] .cm-content, .cm-content[aria-readonly=true]": {
    caretColor: "transparent",
  },
});

// Dark highlight style, applied only under prefers-color-scheme: dark through a
// compartment that follows the media query.
const darkHighlight = HighlightStyle.define([
  { tag: t.keyword, color: "#ff9bd0" },
  { tag: [t.name, t.deleted, t.character, t.macroName], color: "#e6edf3" },
  { tag: [t.propertyName], color: "#9ecbff" },
  { tag: [t.function(t.variableName), t.labelName], color: "#d2a8ff" },
  { tag: [t.color, t.constant(t.name), t.standard(t.name)], color: "#79c0ff" },
  { tag: [t.definition(t.name), t.separator], color: "#e6edf3" },
  { tag: [t.className, t.typeName], color: "#ffa657" },
  { tag: [t.number, t.changed, t.annotation, t.modifier, t.self, t.namespace], color: "#79c0ff" },
  { tag: [t.operator, t.operatorKeyword], color: "#ff9bd0" },
  { tag: [t.url, t.escape, t.regexp, t.link], color: "#a5d6ff" },
  { tag: [t.meta, t.comment], color: "#9ba7b4", fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.link, textDecoration: "underline" },
  { tag: t.heading, fontWeight: "bold", color: "#79c0ff" },
  { tag: [t.atom, t.bool, t.special(t.variableName)], color: "#79c0ff" },
  { tag: [t.processingInstruction, t.string, t.inserted], color: "#a5d6ff" },
  { tag: t.invalid, color: "#ffa198" },
]);

const darkQuery = typeof window !== "undefined" && window.matchMedia
  ? window.matchMedia("(prefers-color-scheme: dark)") : null;

function highlightFor(dark) {
  return syntaxHighlighting(dark ? darkHighlight : defaultHighlightStyle, { fallback: true });
}

// Editable: active-line highlights. Read-only: no caret, sized to its content.
function readOnlyExtensions(readOnly) {
  return readOnly
    ? [EditorState.readOnly.of(true), EditorView.editable.of(false),
      EditorView.editorAttributes.of({ class: "lp-readonly" })]
    : [EditorState.readOnly.of(false), EditorView.editable.of(true),
      highlightActiveLine(), highlightActiveLineGutter()];
}

let uid = 0;

function labelFor(textarea) {
  if (textarea.getAttribute("aria-label")) return textarea.getAttribute("aria-label");
  if (textarea.id) {
    const lab = document.querySelector(`label[for="${CSS.escape(textarea.id)}"]`);
    if (lab) return lab.textContent.trim();
  }
  return "Python code editor";
}

/**
 * Replace `textarea` with a CodeMirror editor.
 * @param {HTMLTextAreaElement} textarea
 * @param {{readOnly?: boolean, onChange?: (value: string) => void}} [options]
 * @returns {{view: EditorView, getValue(): string, setValue(v: string): void,
 *            setReadOnly(ro: boolean): void, focus(): void, destroy(): void}}
 */
function create(textarea, options = {}) {
  if (!textarea || textarea.tagName !== "TEXTAREA") {
    throw new TypeError("LearnpathEditor.create expects a <textarea>");
  }
  if (textarea._learnpathEditor) return textarea._learnpathEditor;
  const readOnly = Boolean(options.readOnly ?? (textarea.readOnly || textarea.disabled));
  const readOnlyConf = new Compartment();
  const highlightConf = new Compartment();
  const n = ++uid;

  // Keyboard hint announced with the editor (and visible just below it).
  const hint = document.createElement("p");
  hint.id = `lp-editor-hint-${n}`;
  hint.className = "code-editor-hint";
  hint.textContent = readOnly
    ? "Read-only code."
    : "Tab indents, Shift+Tab dedents. To leave the editor with the keyboard, press Esc, then Tab.";

  const sync = EditorView.updateListener.of((u) => {
    if (!u.docChanged) return;
    const value = u.state.doc.toString();
    textarea.value = value;
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    if (typeof options.onChange === "function") options.onChange(value);
  });

  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        lineNumbers(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        rectangularSelection(),
        indentOnInput(),
        indentUnit.of("    "),
        EditorState.tabSize.of(4),
        bracketMatching(),
        closeBrackets(),
        python(),
        highlightConf.of(highlightFor(darkQuery ? darkQuery.matches : false)),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, indentWithTab]),
        baseTheme,
        readOnlyConf.of(readOnlyExtensions(readOnly)),
        EditorView.contentAttributes.of({
          // Explicit, so a read-only editor is reachable too and axe sees that the scroller holds focusable content.
          tabindex: "0",
          "aria-label": labelFor(textarea),
          "aria-describedby": hint.id,
          "aria-multiline": "true",
          spellcheck: "false",
          autocorrect: "off",
          autocapitalize: "off",
        }),
        sync,
      ],
    }),
  });

  const onScheme = (e) => view.dispatch({ effects: highlightConf.reconfigure(highlightFor(e.matches)) });
  if (darkQuery) {
    if (darkQuery.addEventListener) darkQuery.addEventListener("change", onScheme);
    else if (darkQuery.addListener) darkQuery.addListener(onScheme);
  }

  // Keep the textarea in the form (it is what gets submitted) but hide it.
  textarea.insertAdjacentElement("afterend", view.dom);
  view.dom.insertAdjacentElement("afterend", hint);
  textarea.hidden = true;
  textarea.style.display = "none"; // beats author `display` rules that override [hidden]
  textarea.setAttribute("aria-hidden", "true");
  textarea.tabIndex = -1;
  // Make a <label for=textarea> focus the editor instead of the hidden field.
  const labels = textarea.id
    ? Array.from(document.querySelectorAll(`label[for="${CSS.escape(textarea.id)}"]`)) : [];
  const onLabelClick = (e) => { e.preventDefault(); view.focus(); };
  labels.forEach((l) => l.addEventListener("click", onLabelClick));
  // Belt and braces: right before submit, copy the doc again.
  const form = textarea.form;
  const onSubmit = () => { textarea.value = view.state.doc.toString(); };
  if (form) form.addEventListener("submit", onSubmit, true);

  const api = {
    view,
    getValue: () => view.state.doc.toString(),
    setValue(value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: String(value) } });
    },
    setReadOnly(ro) {
      view.dispatch({
        effects: readOnlyConf.reconfigure(readOnlyExtensions(ro)),
      });
      hint.textContent = ro
        ? "Read-only code."
        : "Tab indents, Shift+Tab dedents. To leave the editor with the keyboard, press Esc, then Tab.";
    },
    focus: () => view.focus(),
    destroy() {
      if (darkQuery) {
        if (darkQuery.removeEventListener) darkQuery.removeEventListener("change", onScheme);
        else if (darkQuery.removeListener) darkQuery.removeListener(onScheme);
      }
      if (form) form.removeEventListener("submit", onSubmit, true);
      labels.forEach((l) => l.removeEventListener("click", onLabelClick));
      textarea.value = view.state.doc.toString();
      view.destroy();
      hint.remove();
      textarea.hidden = false;
      textarea.style.removeProperty("display");
      textarea.removeAttribute("aria-hidden");
      textarea.removeAttribute("tabindex");
      delete textarea._learnpathEditor;
    },
  };
  textarea._learnpathEditor = api;
  return api;
}

/** Enhance every <textarea data-code-editor> on the page (data-readonly for read-only). */
function autoInit(root = document) {
  return Array.from(root.querySelectorAll("textarea[data-code-editor]")).map((ta) =>
    create(ta, { readOnly: ta.hasAttribute("data-readonly") || ta.readOnly }));
}

window.LearnpathEditor = { create, autoInit, version: "__VERSION__" };
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", () => autoInit());
} else {
  autoInit();
}
