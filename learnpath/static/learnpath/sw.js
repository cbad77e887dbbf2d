/* learnpath's service worker, served at /sw.js (root scope) by learnpath.views.service_worker.
 *
 * - The static files of the daily loop are precached and served cache-first.
 * - The learner's own pages (/today/, /drops/<id>/, /review/, /progress/) are network-first: each one fetched
 *   online is stored, and served from the store when the network fails. No other page is stored, so nothing
 *   of another learner's (or of the admin) is ever kept on the device.
 * - Logging in or out (a POST to /accounts/login/ or /accounts/logout/) empties the page store first, so the
 *   next person on the device never sees the last one's pages.
 * - A page neither online nor stored gets /static/learnpath/offline.html.
 * VERSION is written by the view that serves this file (learnpath.views.service_worker_script): a digest of this
 * file and of every file in PRECACHE, so a deploy that changes any of them installs a new worker, and its
 * activation deletes the old caches. */
const VERSION = "dev";
const STATIC_CACHE = `learnpath-static-${VERSION}`;
const PAGES_CACHE = `learnpath-pages-${VERSION}`;
const OFFLINE_PAGE = "/static/learnpath/offline.html";
const PRECACHE = [
  OFFLINE_PAGE,
  "/static/learnpath/site.css",
  "/static/learnpath/favicon.svg",
  "/static/learnpath/offline.js",
  "/static/learnpath/manifest.webmanifest",
  "/static/learnpath/icons/icon-192.png",
  "/static/drops/daily.js",
];
const OWN_PAGES = [/^\/today\/$/, /^\/drops\/\d+\/$/, /^\/review\/$/, /^\/progress\/$/];
const SESSION_CHANGES = ["/accounts/login/", "/accounts/logout/"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(STATIC_CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const keep = new Set([STATIC_CACHE, PAGES_CACHE]);
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("learnpath-") && !keep.has(n)).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

function isOwnPage(url) {
  return OWN_PAGES.some((pattern) => pattern.test(url.pathname));
}

async function ownPage(request) {
  const cache = await caches.open(PAGES_CACHE);
  try {
    const response = await fetch(request);
    // A redirect (to the login page, a locked drop) or an error is never stored in place of the page.
    if (response.ok && !response.redirected && response.type === "basic") await cache.put(request.url, response.clone());
    return response;
  } catch (error) {
    const stored = await cache.match(request.url);
    if (stored) return stored;
    return (await caches.match(OFFLINE_PAGE)) || Response.error();
  }
}

async function otherPage(request) {
  try {
    return await fetch(request);
  } catch (error) {
    return (await caches.match(OFFLINE_PAGE)) || Response.error();
  }
}

async function staticFile(request) {
  const stored = await caches.match(request);
  if (stored) {
    // Refreshed in the background: the next load gets the current file.
    fetch(request).then((r) => r.ok && caches.open(STATIC_CACHE).then((c) => c.put(request, r))).catch(() => {});
    return stored;
  }
  const response = await fetch(request);
  if (response.ok) (await caches.open(STATIC_CACHE)).put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && SESSION_CHANGES.includes(url.pathname)) {
    event.waitUntil(caches.delete(PAGES_CACHE));
    return;
  }
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    event.respondWith(isOwnPage(url) ? ownPage(request) : otherPage(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticFile(request));
  }
});
