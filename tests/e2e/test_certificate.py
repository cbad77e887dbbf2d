"""In Chromium at desktop and phone width: finish the path by saving the plan on the last day, name the
certificate, print it (one A4 landscape PDF page without the navigation) and download its PDF, then open its
verification link signed out and download the PDF there too."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from learnpath import services
from tests.certificates.factories import all_but_last_drop, grade, path_challenges, save_plan
from tests.fixtures.browser import sign_up

pytestmark = pytest.mark.e2e
USERNAME = "zq_handle"
PRINTED_NAME = "Grace Brewster Hopper"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
A4_LANDSCAPE_POINTS = (841.89, 595.28)


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request) -> dict:
    return VIEWPORTS[request.param]


def new_page(browser, live_server, viewport):
    phone = viewport["width"] < 600
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, is_mobile=phone, has_touch=phone, timezone_id="Europe/Berlin"
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


def assert_fits(page) -> None:
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{page.url} is {width[0]} px wide in a {width[1]} px window"


def assert_downloads_pdf(page, share_url: str) -> None:
    """The download button saves a one-page PDF with the name and the verification URL printed on it."""
    with page.expect_download() as info:
        page.get_by_test_id("certificate-download").click()
    download = info.value
    assert download.suggested_filename == "learnpath-certificate-model-distillation.pdf"
    content = open(download.path(), "rb").read()
    assert content.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert PRINTED_NAME in text and share_url in text


def test_finish_print_and_verify_signed_out(browser, live_server, viewport, content):
    from django.contrib.auth.models import User

    context, page = new_page(browser, live_server, viewport)
    sign_up(page, USERNAME)
    learner = User.objects.get(username=USERNAME)
    services.enrollment_create(user=learner, path=content)
    last = all_but_last_drop(learner, content, plan=False)
    save_plan(learner, training_cost=None)  # a draft, one figure short
    for challenge in path_challenges(content):
        grade(learner, challenge, score=0.9)  # as a grading worker stores a pass

    page.goto("/certificates/")
    requirements = page.get_by_test_id("certificate-requirements")
    expect(requirements).to_contain_text("13 of 14")
    expect(requirements).to_contain_text("Distillation plan saved with every section filled in: not yet")
    assert_fits(page)

    # The last day: the worksheet below the lesson; saving the complete plan completes the drop.
    page.goto(f"/drops/{last.pk}/")
    page.get_by_label("Training cost ($)", exact=True).fill("48")
    page.get_by_role("button", name="Save plan").click()
    page.wait_for_load_state()
    page.goto("/progress/")
    page.get_by_role("link", name="View, print or share your certificate").click()
    page.wait_for_url("**/certificates/")
    name_field = page.get_by_label("Name to print on your certificate")
    expect(name_field).to_have_value(USERNAME)  # the default
    name_field.fill(PRINTED_NAME)
    page.get_by_role("button", name="Put this name on my certificate").click()
    expect(page.get_by_test_id("certificate-name")).to_have_text(PRINTED_NAME)
    expect(page.get_by_label("Name to print on your certificate")).to_have_count(0)  # chosen once
    assert_fits(page)

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.get_by_role("button", name="Print or save as PDF")).to_be_hidden()
    expect(page.locator(".certificate-sheet")).to_be_visible()
    pdf = page.pdf(prefer_css_page_size=True)
    page.emulate_media(media="screen")
    assert len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf)) == 1  # one page
    box = [float(n) for n in re.search(rb"/MediaBox\s*\[([^\]]+)\]", pdf).group(1).split()]
    assert box[2] - box[0] == pytest.approx(A4_LANDSCAPE_POINTS[0], abs=2)
    assert box[3] - box[1] == pytest.approx(A4_LANDSCAPE_POINTS[1], abs=2)

    share_url = page.locator("[data-share-url]").input_value()
    assert re.fullmatch(rf"{re.escape(live_server.url)}/certificates/[\w-]{{22,}}/", share_url)
    assert_downloads_pdf(page, share_url)
    context.close()

    anonymous, public = new_page(browser, live_server, viewport)
    response = public.goto(share_url)
    assert response.status == 200
    expect(public.get_by_test_id("certificate-valid")).to_contain_text("This certificate is valid")
    expect(public.get_by_test_id("certificate-name")).to_have_text(PRINTED_NAME)
    for challenge in path_challenges(content):
        expect(public.get_by_text(f"{challenge.title}: passed with a score of 90%")).to_be_visible()
    assert USERNAME not in public.content()
    assert_fits(public)
    assert_downloads_pdf(public, share_url)
    assert public.goto(share_url.replace("/certificates/", "/certificates/x")).status == 404
    expect(public.get_by_role("heading", name="No certificate has this id")).to_be_visible()
    anonymous.close()
