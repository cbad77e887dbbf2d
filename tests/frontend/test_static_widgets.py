"""Browser checks of the front-end widgets as shipped in the static folders.

Serves the three apps' static directories from a local HTTP server (no Django, no
network) and drives Debian's Chromium through Playwright:
- the temperature demo (drops/static/drops/temperature-demo.js) builds, exposes its
  data-testid hooks and flattens the teacher's distribution as T rises;
- the vendored CodeMirror bundle replaces a textarea, keeps it in sync for form
  submission, indents with Tab, and lets keyboard users leave with Esc then Tab.
"""

import functools
import http.server
import os
import threading

import pytest

from tests.fixtures.browser import only_from, page_errors

from .conftest import REPO_ROOT

pytestmark = pytest.mark.frontend

STATIC_DIRS = {
    "learnpath": os.path.join(REPO_ROOT, "learnpath", "static", "learnpath"),
    "drops": os.path.join(REPO_ROOT, "drops", "static", "drops"),
    "challenges": os.path.join(REPO_ROOT, "challenges", "static", "challenges"),
}

DEMO_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/learnpath/site.css">
<script type="module" src="/static/drops/temperature-demo.js"></script></head>
<body><main class="prose"><div class="temperature-demo" data-demo="temperature"></div></main></body></html>"""

EDITOR_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<link rel="stylesheet" href="/static/learnpath/site.css">
<script defer src="/static/challenges/vendor/codemirror/codemirror.bundle.js"></script></head>
<body><form id="f"><div class="code-editor"><label for="code">Solution</label>
<textarea id="code" name="code">def f(x):
    return x</textarea></div>
<button id="after" type="button">After</button></form></body></html>"""


class _Handler(http.server.SimpleHTTPRequestHandler):
    pages: dict = {}

    def log_message(self, *args):
        pass

    def translate_path(self, path):
        path = path.split("?", 1)[0]
        parts = path.lstrip("/").split("/")
        if len(parts) >= 3 and parts[0] == "static" and parts[1] in STATIC_DIRS:
            root = STATIC_DIRS[parts[1]]
            full = os.path.realpath(os.path.join(root, *parts[2:]))
            if full.startswith(os.path.realpath(root) + os.sep):
                return full
        return "/nonexistent"

    def do_GET(self):
        if self.path in self.pages:
            body = self.pages[self.path].encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server():
    _Handler.pages = {"/demo.html": DEMO_PAGE, "/editor.html": EDITOR_PAGE}
    _Handler.extensions_map = {**_Handler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript"}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def page(browser, server):  # ``browser``: the suite's one Chromium, tests/fixtures/browser.py
    context = browser.new_context()
    outside = only_from(context, server)  # nothing may be fetched from anywhere but the local server
    page = context.new_page()
    errors = page_errors(page)
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not outside, f"requests outside the app: {outside}"


def test_temperature_demo_hooks_and_flattening(page, server):
    page.goto(f"{server}/demo.html")
    page.wait_for_selector('.temperature-demo[data-ready="true"]')
    tid = page.get_by_test_id
    assert page.get_by_label("Temperature T").get_attribute("data-testid") == "temperature-slider"
    assert tid("kl").inner_text() == "0.3233"
    probs_t1 = [float(tid(f"teacher-prob-{i}").get_attribute("data-value")) for i in range(4)]
    assert sum(probs_t1) == pytest.approx(1.0)
    max_t1 = float(tid("teacher-max-prob").get_attribute("data-value"))

    tid("temperature-slider").fill("4")
    assert tid("temperature-value").inner_text() == "4.0"
    assert tid("t2kl").inner_text() == "0.7128"
    max_t4 = float(tid("teacher-max-prob").get_attribute("data-value"))
    assert max_t4 < max_t1

    # Keyboard: the slider moves with arrow keys.
    tid("temperature-slider").focus()
    page.keyboard.press("ArrowRight")
    assert tid("temperature-value").inner_text() == "4.1"

    # Editing a student logit to match the teacher drives KL to zero.
    for i, v in enumerate([5, 2, 1, -2]):
        page.get_by_label("Student logit for " + ["spam", "promotions", "social", "primary"][i]).fill(str(v))
    assert tid("kl").inner_text() == "0.0000"
    assert page.locator('link[href$="temperature-demo.css"]').count() == 1


def test_editor_replaces_textarea_and_keyboard(page, server):
    page.goto(f"{server}/editor.html")
    page.wait_for_function("window.LearnpathEditor && typeof window.LearnpathEditor.create === 'function'")
    page.evaluate("window.LearnpathEditor.create(document.getElementById('code'))")
    page.wait_for_selector(".cm-editor .cm-content")
    assert page.locator("#code").is_hidden()
    content = page.locator(".cm-content")
    assert content.get_attribute("aria-label") == "Solution"
    # Python highlighting produced styled tokens; line numbers are shown.
    assert page.locator(".cm-line span").count() > 0
    assert page.locator(".cm-lineNumbers .cm-gutterElement").filter(has_text="2").count() == 1

    content.click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("print(")  # auto-closes the bracket
    assert page.evaluate("document.getElementById('code').value").endswith("print()")
    page.keyboard.press("Home")
    page.keyboard.press("Tab")  # indents instead of leaving the editor
    value = page.evaluate("document.getElementById('code').value")
    assert "\n        print()" in value or "\n    print()" in value
    assert page.evaluate("document.activeElement.classList.contains('cm-content')")

    page.keyboard.press("Escape")
    page.keyboard.press("Tab")  # Esc then Tab moves focus on
    assert page.evaluate("document.activeElement.id") == "after"

    # Read-only editors do not change.
    page.evaluate("document.getElementById('code')._learnpathEditor.setReadOnly(true)")
    content.click()
    page.keyboard.type("zzz")
    assert "zzz" not in page.evaluate("document.getElementById('code').value")
