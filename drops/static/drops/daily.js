// The daily loop's small helpers: reading time for the drop reader, keyboard for the review session.
(() => {
  "use strict";

  // Drop reader: count seconds while the page is visible; the server caps what it counts.
  const reader = document.querySelector("[data-reader]");
  if (reader) {
    let seconds = 0;
    setInterval(() => {
      if (document.visibilityState === "visible") seconds += 1;
    }, 1000);
    document.querySelectorAll("[data-reading-seconds]").forEach((input) => {
      input.form.addEventListener("submit", () => {
        input.value = String(seconds);
      });
    });
  }

  // Review session: Space reveals the answer, 1–4 rate it.
  const card = document.querySelector("[data-review]");
  if (!card) return;
  const started = performance.now();
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      form.querySelectorAll("[data-duration]").forEach((input) => {
        input.value = String(Math.round(performance.now() - started));
      });
      // One rating per card: a second press while the first is on its way does nothing.
      if (form.dataset.sent) event.preventDefault();
      form.dataset.sent = "1";
    });
  });

  const answer = card.querySelector("[data-answer]");
  const reveal = card.querySelector("[data-reveal]");
  if (answer && reveal) {
    answer.hidden = true;
    reveal.hidden = false;
    reveal.addEventListener("click", () => show());
  }
  const revealed = () => answer && !answer.hidden;
  if (answer && answer.hasAttribute("data-checked")) answer.focus();

  function show() {
    answer.hidden = false;
    reveal.setAttribute("aria-expanded", "true");
    reveal.hidden = true;
    answer.focus();
  }

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    const typing = target instanceof HTMLElement && target.matches("input[type=text], input:not([type]), textarea, select");
    if (typing) return;
    if (event.key === " " && answer && answer.hidden) {
      event.preventDefault();
      show();
      return;
    }
    if (/^[1-4]$/.test(event.key) && revealed()) {
      const button = card.querySelector(`[data-rating="${event.key}"]`);
      if (button) {
        event.preventDefault();
        button.click();
      }
    }
  });
})();
