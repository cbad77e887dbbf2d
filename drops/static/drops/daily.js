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
        // Set once: a second press (a double-click) then posts the same form with the same idempotency key, which
        // the server answers with the first press's result instead of refusing it as a different request.
        if (input.form.dataset.sent) return;
        input.form.dataset.sent = "1";
        input.value = String(seconds);
      });
    });
    // A link to the folded Go deeper section, or to something inside it (the contents list, a shared URL), opens it.
    const openTarget = () => {
      const id = decodeURIComponent(location.hash.slice(1));
      const target = id && document.getElementById(id);
      const fold = target && target.closest("details[data-go-deeper]");
      if (fold && !fold.open) {
        fold.open = true;
        target.scrollIntoView();
      }
    };
    window.addEventListener("hashchange", openTarget);
    openTarget();
  }

  // Review session. Multiple choice: 1–9 pick an answer, Enter checks it. After the check (the same card
  // shows the feedback) and after Space reveals a free-recall answer: 1–4 rate, Enter takes the suggestion.
  const card = document.querySelector("[data-review]");
  if (!card) return;
  const started = performance.now();
  document.querySelectorAll("form").forEach((form) => {
    form.addEventListener("submit", (event) => {
      // The time already spent answering (carried by the server through the check) plus the time on this page.
      form.querySelectorAll("[data-duration]").forEach((input) => {
        const before = Number(input.defaultValue) || 0;
        input.value = String(before + Math.round(performance.now() - started));
      });
      // One rating per card: a second press while the first is on its way does nothing.
      if (form.dataset.sent) event.preventDefault();
      form.dataset.sent = "1";
    });
  });

  const answer = card.querySelector("[data-answer]");
  const reveal = card.querySelector("[data-reveal]");
  const check = card.querySelector("form[data-check]");
  const choices = check ? Array.from(check.querySelectorAll("input[type=radio][data-choice]")) : [];
  const revealBar = reveal ? reveal.closest("[data-reveal-bar]") : null;
  if (answer && reveal) {
    answer.hidden = true;
    revealBar.hidden = false;
    reveal.addEventListener("click", () => show());
  }
  const revealed = () => answer && !answer.hidden;
  if (answer && answer.hasAttribute("data-checked")) {
    // Feedback on the same card: the question stays in view, the verdict and the ratings are in the bar at the
    // bottom of the screen; focus goes to the suggested rating.
    const suggested = answer.querySelector("[data-suggested]");
    (suggested || answer).focus({ preventScroll: true });
  }

  function show() {
    answer.hidden = false;
    reveal.setAttribute("aria-expanded", "true");
    revealBar.hidden = true;
    answer.focus();
  }

  function pick(index) {
    const input = choices[index];
    if (!input) return false;
    input.checked = true;
    input.focus();
    input.dispatchEvent(new Event("change", { bubbles: true }));
    return true;
  }

  document.addEventListener("keydown", (event) => {
    // Offline, offline.js replaces the card with the session kept on the device (and its own keys).
    if (event.altKey || event.ctrlKey || event.metaKey || !card.isConnected) return;
    const target = event.target;
    const typing = target instanceof HTMLElement && target.matches("input[type=text], input:not([type]), textarea, select");
    if (typing) return;
    if (choices.length) {
      if (/^[1-9]$/.test(event.key) && pick(Number(event.key) - 1)) {
        event.preventDefault();
        return;
      }
      if (event.key === "Enter" && !(target instanceof HTMLButtonElement)) {
        event.preventDefault();
        check.requestSubmit();  // with nothing picked, the browser says an answer is required
      }
      return;
    }
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
