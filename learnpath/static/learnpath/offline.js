/* Offline support for every page (docs/offline.md):
 * - registers the service worker (/sw.js), which keeps the learner's own pages for offline use;
 * - keeps the due cards on the device (fetched from /api/reviews/due/?offline=true whenever Today or Review opens
 *   online), and on the Review page offline runs the session from them, checking answers on the device;
 * - queues the ratings given offline, and a drop's "Done" pressed offline, each with its own Idempotency-Key,
 *   and sends them in order when the connection returns (and on every page load): the server records each once;
 * - says in the banner that the device is offline, and what waits to sync.
 * The queue and the deck are kept in localStorage, per learner: an entry is only ever sent in its learner's
 * session. */
(function () {
  "use strict";
  const learner = document.body.dataset.learner || "";
  const QUEUE = "learnpath-offline-queue";
  const DROPPED = "learnpath-offline-refused";
  const DECK = "learnpath-offline-deck-" + learner;
  const RATINGS = [
    [1, "Again", "Forgot it"],
    [2, "Hard", "Recalled with effort"],
    [3, "Good", "Recalled it"],
    [4, "Easy", "Knew it at once"],
  ];
  const banner = document.querySelector("[data-offline-banner]");
  let syncing = false;
  let synced = false;
  let refusedNow = 0;

  function read(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value === null ? fallback : value;
    } catch (error) {
      return fallback;
    }
  }

  function write(key, value) {
    localStorage.setItem(key, JSON.stringify(value));
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function mine() {
    return read(QUEUE, []).filter((entry) => entry.learner === learner);
  }

  function enqueue(kind, url, body) {
    const queue = read(QUEUE, []);
    queue.push({ kind, url, body, idempotency_key: newKey(), created: new Date().toISOString(), learner });
    write(QUEUE, queue);
    synced = false;
    update();
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  function waiting() {
    const entries = mine();
    const ratings = entries.filter((e) => e.kind === "rating").length;
    const completions = entries.length - ratings;
    if (!entries.length) return "";
    return plural(ratings, "rating") + " and " + plural(completions, "completion") + " waiting to sync.";
  }

  function show(text) {
    if (!banner) return;
    // The live region stays in the page (so that changes are announced); only its message comes and goes.
    const message = banner.querySelector("[data-offline-text]");
    if (message.textContent !== text) message.textContent = text;
    message.hidden = !text;
  }

  function update() {
    const pending = waiting();
    if (!navigator.onLine) {
      show("You are offline. " + (pending || "Pages you have opened before still work."));
    } else if (pending) {
      show(pending + (syncing ? " Syncing…" : ""));
    } else {
      const refused = refusedNow === 1 ? "1 was" : refusedNow + " were";
      const done = refusedNow
        ? "Synced. " + refused + " not recorded: the card was no longer due, or the drop still locked."
        : "Synced: what you did offline is saved.";
      show(synced ? done : "");
    }
  }

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
    if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
    const field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function remove(entry, refusal) {
    write(
      QUEUE,
      read(QUEUE, []).filter((e) => e.idempotency_key !== entry.idempotency_key),
    );
    if (refusal) {
      const refused = read(DROPPED, []);
      refused.push(Object.assign({}, entry, { refused: refusal }));
      write(DROPPED, refused.slice(-50));
    }
  }

  // Sends this learner's queue in order. A 2xx (201 the first time, the stored answer on a repeat) and a definite
  // refusal (a 4xx: the card is no longer due, the drop is locked) take the entry off the queue, a refusal kept
  // with its reason; a network error, a 5xx, a 408/429, or a lost session (401, a CSRF 403) keep it for later.
  async function sync() {
    if (syncing || !learner || !navigator.onLine) return;
    syncing = true;
    refusedNow = 0;
    let sent = 0;
    try {
      for (const entry of mine()) {
        update();
        let response;
        try {
          response = await fetch(entry.url, {
            method: "POST",
            credentials: "same-origin",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json",
              "X-CSRFToken": csrfToken(),
              "Idempotency-Key": entry.idempotency_key,
            },
            body: JSON.stringify(entry.body),
          });
        } catch (error) {
          break;
        }
        if (response.ok) {
          remove(entry);
          sent += 1;
          continue;
        }
        const detail = await response.json().catch(() => ({}));
        const lostSession = response.status === 401 || (response.status === 403 && /CSRF/i.test(detail.detail || ""));
        if (response.status >= 500 || response.status === 408 || response.status === 429 || lostSession) break;
        remove(entry, { status: response.status, detail: detail.detail || detail });
        refusedNow += 1;
        sent += 1;
      }
    } finally {
      syncing = false;
    }
    if (sent && !mine().length) synced = true;
    update();
    return sent;
  }

  async function keepDeck() {
    if (!learner || !navigator.onLine) return;
    try {
      const response = await fetch("/api/reviews/due/?offline=true&limit=50", {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const deck = await response.json();
      write(DECK, { saved: new Date().toISOString(), cards: deck.cards });
    } catch (error) {
      /* offline after all: the deck kept before stays */
    }
  }

  // ---------- the review session offline ----------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([name, value]) => {
      if (name === "text") node.textContent = value;
      else node.setAttribute(name, value);
    });
    (children || []).forEach((child) => child && node.append(child));
    return node;
  }

  function isRight(card, given) {
    const check = card.check;
    const text = given.split(/\s+/).filter(Boolean).join(" ");
    if (card.kind === "choice") return text.toLowerCase() === check.answer.split(/\s+/).filter(Boolean).join(" ").toLowerCase();
    const value = Number(text.replace(",", ".").replace(/ /g, ""));
    if (!Number.isFinite(value) || check.numeric_answer === null || text === "") return false;
    const tolerance = check.tolerance || 0;
    return Math.abs(value - check.numeric_answer) <= tolerance + 1e-9 * Math.max(1, Math.abs(check.numeric_answer));
  }

  function nextCard() {
    const rated = new Set(mine().filter((e) => e.kind === "rating").map((e) => e.card_id));
    const deck = read(DECK, { cards: [] });
    return deck.cards.find((card) => card.check && !rated.has(card.id));
  }

  function ratingBar(card, answer, suggested, started, verdict) {
    const buttons = RATINGS.map(([value, label, hint]) => {
      const button = el("button", { type: "button", class: "btn btn-secondary" + (value === suggested ? " is-suggested" : ""), "data-rating": String(value) }, [
        el("span", { text: label }),
        el("small", { text: hint }),
      ]);
      button.addEventListener("click", () => {
        const body = { rating: value, duration_ms: Math.round(performance.now() - started) };
        if (answer !== null) body.answer = answer;
        const queue = read(QUEUE, []);
        queue.push({ kind: "rating", card_id: card.id, url: "/api/reviews/" + card.id + "/", body, idempotency_key: newKey(), created: new Date().toISOString(), learner });
        write(QUEUE, queue);
        synced = false;
        update();
        render();
      });
      return button;
    });
    return el("div", { class: "review-bar", "data-testid": "review-bar" }, [
      verdict,
      el("fieldset", {}, [el("legend", { text: "How well did you recall it?" }), el("div", { class: "rating-buttons" }, buttons)]),
    ]);
  }

  function cardView(card) {
    const started = performance.now();
    const body = el("div", { class: "stack" });
    const article = el("article", { class: "card review-card stack", "data-offline-review": "", "data-kind": card.kind, "aria-labelledby": "offline-prompt" }, [
      el("p", { class: "muted", text: card.drop.title + " · reviewed offline" }),
      el("h2", { class: "review-prompt", id: "offline-prompt", text: card.prompt }),
      body,
    ]);
    const feedback = (given) => {
      const right = isRight(card, given);
      body.replaceChildren(
        el("dl", { class: "answer-compare", "data-testid": "review-feedback" }, [
          el("div", { class: right ? "is-answer" : "is-wrong" }, [el("dt", { text: "Your answer" }), el("dd", { "data-testid": "your-answer", text: given })]),
          el("div", { class: "is-answer" }, [el("dt", { text: "Correct answer" }), el("dd", { "data-testid": "correct-answer", text: card.check.answer })]),
        ]),
        card.check.explanation ? el("p", { class: "review-explanation", text: card.check.explanation }) : null,
        ratingBar(card, given, right ? 3 : 1, started, el("p", { class: "message " + (right ? "success" : "error"), "data-testid": "review-verdict", text: right ? "Right. Your answer is correct." : "Not quite. Your answer is not the right one." })),
      );
      body.querySelector(".is-suggested").focus();
    };
    if (card.kind === "recall") {
      const reveal = el("button", { type: "button", class: "btn btn-primary", "data-reveal": "", text: "Show answer" });
      reveal.addEventListener("click", () => {
        body.replaceChildren(
          el("p", {}, [el("strong", { text: "Answer: " }), card.check.answer]),
          card.check.explanation ? el("p", { class: "muted", text: card.check.explanation }) : null,
          ratingBar(card, null, null, started, null),
        );
        body.querySelector("button").focus();
      });
      body.append(reveal);
    } else {
      const form = el("form", { class: "stack" });
      if (card.kind === "choice") {
        form.append(el("fieldset", { class: "choice-fieldset" }, [
          el("legend", { text: "Choose one" }),
          el("ol", { class: "choice-list" }, card.choices.map((choice) => el("li", {}, [
            el("label", { class: "choice" }, [el("input", { type: "radio", name: "answer", value: choice, required: "" }), el("span", { class: "choice-text", text: choice })]),
          ]))),
        ]));
      } else {
        form.append(el("div", { class: "field" }, [
          el("label", { for: "offline-answer", text: "Your answer (a number)" }),
          el("input", { id: "offline-answer", name: "answer", inputmode: "decimal", autocomplete: "off", required: "", maxlength: "50" }),
        ]));
      }
      form.append(el("p", {}, [el("button", { class: "btn btn-primary", type: "submit", text: "Check" })]));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        feedback(String(new FormData(form).get("answer") || "").trim());
      });
      body.append(form);
    }
    return article;
  }

  function render() {
    const page = document.querySelector("[data-review-session]");
    if (!page) return;
    const card = nextCard();
    const view = card
      ? cardView(card)
      : el("section", { class: "card stack", "data-testid": "offline-done" }, [
          el("h2", { class: "card-title", text: "No more cards on this device" }),
          el("p", { text: "The cards kept for offline review are done. What you rated is sent when you are back online." }),
        ]);
    page.replaceChildren(el("h1", { text: "Review" }), view);
  }

  // ---------- wiring ----------

  window.addEventListener("online", () => {
    update();
    sync().then(keepDeck);
  });
  window.addEventListener("offline", () => {
    update();
    render();  // the Review page goes on from the cards kept on the device
  });

  // The review keys, offline too: Space shows a free-recall answer, 1–4 rate once the answer is shown or checked
  // (Enter takes the suggested rating, which has the focus).
  document.addEventListener("keydown", (event) => {
    const card = document.querySelector("[data-offline-review]");
    if (!card || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target instanceof HTMLElement && event.target.matches("input:not([type=radio]), textarea")) return;
    const reveal = card.querySelector("[data-reveal]");
    const rating = /^[1-4]$/.test(event.key) && card.querySelector('[data-rating="' + event.key + '"]');
    if (event.key === " " && reveal) {
      event.preventDefault();
      reveal.click();
    } else if (rating) {
      event.preventDefault();
      rating.click();
    }
  });

  // A drop's "Done" pressed offline: queued, and sent when the connection returns. Listening on the document, so
  // that daily.js (on the form) has already set the seconds spent reading.
  document.addEventListener("submit", (event) => {
    const form = event.target;
    const input = form.querySelector("[data-reading-seconds]");
    const match = form.getAttribute("action") && form.getAttribute("action").match(/^\/drops\/(\d+)\/complete\/$/);
    if (!input || !match || navigator.onLine || event.defaultPrevented) return;
    event.preventDefault();
    enqueue("completion", "/api/drops/" + match[1] + "/complete/", { seconds_spent: Number(input.value) || 0 });
    form.querySelectorAll("button[type=submit], button:not([type])").forEach((button) => {
      button.disabled = true;
      button.textContent = "Done (waiting to sync)";
    });
  });

  // Logging out forgets this learner's deck (the service worker forgets the pages); the queue stays, to be sent
  // the next time this learner is signed in.
  document.querySelectorAll('form[action="/accounts/logout/"]').forEach((form) => {
    form.addEventListener("submit", () => localStorage.removeItem(DECK));
  });

  window.learnpathOffline = { sync, update, keepDeck };
  update();
  if (!navigator.onLine) render();
  else if (learner) sync().then(() => (document.querySelector("[data-keep-deck]") ? keepDeck() : null));

  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }
})();
