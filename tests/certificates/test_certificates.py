"""Certificates of completion: issued once when the path is finished, shown to the learner, verifiable by anyone."""

from __future__ import annotations

import re
import unicodedata

import pytest
from django.test import Client
from django.utils import timezone

from certificates import services
from certificates.models import Certificate
from challenges.models import Submission
from challenges.services import submission_record_verdict, submission_regrade
from drops.models import Drop, DropProgress
from learnpath import services as learnpath_services
from tests.certificates.factories import all_but_last_drop, grade, path_challenges, save_plan, verdict
from tests.conftest import api_client_for

pytestmark = pytest.mark.django_db

PRIVATE_USERNAME = "zq_private_handle"
PRIVATE_EMAIL = "zq.private@example.org"


def complete(client, drop: Drop):
    response = client.post(f"/api/drops/{drop.pk}/complete/", {"seconds_spent": 300}, format="json")
    assert response.status_code in (200, 201), response.content
    return response


def finish_path(user, path, capture, *, name: str | None = None) -> Certificate:
    """Take ``user`` through the whole path (passing verdicts, then the last drop) and return the certificate."""
    last = all_but_last_drop(user, path)
    with capture(execute=True):
        for challenge in path_challenges(path):
            grade(user, challenge, score=0.95)
        complete(api_client_for(user), last)
    certificate = Certificate.objects.get(user=user, path=path)
    if name is not None:
        certificate = services.certificate_name_set(certificate=certificate, name=name)
    return certificate


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    """Issuing runs after the commit: execute the on-commit callbacks the test transaction would otherwise hold."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def private_learner(make_user, content):
    user = make_user(PRIVATE_USERNAME)
    user.email = PRIVATE_EMAIL
    user.save(update_fields=["email"])
    learnpath_services.enrollment_create(user=user, path=content)
    return user


# --------------------------------------------------------------------------- issuing


def test_the_path_has_fourteen_drops_and_three_challenges(content):
    assert Drop.objects.filter(path=content).count() == 14
    assert len(path_challenges(content)) == 3


def test_not_issued_before_the_path_is_finished(api, learner, enrolled, capture):
    last = all_but_last_drop(learner, enrolled)
    first, second, third = path_challenges(enrolled)
    with capture(execute=True):
        grade(learner, first)
        grade(learner, second)
        grade(learner, third, status="failed", score=0.4)
        complete(api, last)  # every drop done, but one challenge only attempted
    assert Certificate.objects.count() == 0
    assert api.get("/api/certificates/").json() == []

    browser = Client()
    browser.force_login(learner)
    page = " ".join(browser.get("/certificates/").content.decode().split())
    assert "Daily drops completed: <strong>14 of 14</strong>" in page
    assert "Code challenges passed: <strong>2 of 3</strong>" in page
    assert "not passed yet" in page


def test_not_issued_with_every_challenge_passed_but_a_drop_left(api, learner, enrolled, capture):
    all_but_last_drop(learner, enrolled)
    with capture(execute=True):
        for challenge in path_challenges(enrolled):
            grade(learner, challenge)
    assert Certificate.objects.count() == 0
    browser = Client()
    browser.force_login(learner)
    page = " ".join(browser.get("/certificates/").content.decode().split())
    assert "Daily drops completed: <strong>13 of 14</strong>" in page
    assert "Code challenges passed: <strong>3 of 3</strong>" in page


def test_issued_once_when_the_last_drop_is_completed_last(api, learner, enrolled, capture):
    last = all_but_last_drop(learner, enrolled)
    challenges = path_challenges(enrolled)
    with capture(execute=True):
        grade(learner, challenges[0], status="failed", score=0.5)
        grade(learner, challenges[0], score=0.9)
        grade(learner, challenges[1], score=1.0)
        grade(learner, challenges[2], score=0.8)
    assert Certificate.objects.count() == 0

    before = timezone.now()
    with capture(execute=True):
        complete(api, last)
    certificate = Certificate.objects.get()
    assert (certificate.user, certificate.path) == (learner, enrolled)
    assert before <= certificate.issued_at <= timezone.now()
    assert (certificate.drops_completed, certificate.drops_total) == (14, 14)
    assert [(c["slug"], c["best_score"]) for c in certificate.challenges] == [
        (challenges[0].slug, 0.9),
        (challenges[1].slug, 1.0),
        (challenges[2].slug, 0.8),
    ]
    assert all(c["passed_at"] for c in certificate.challenges)
    assert len(certificate.public_id) >= 22 and certificate.name == "" and not certificate.name_chosen

    with capture(execute=True):
        complete(api, last)  # completing again
        grade(learner, challenges[1], score=1.0)  # passing again
    assert Certificate.objects.get().public_id == certificate.public_id


def test_issued_once_when_a_passing_verdict_is_stored_last(api, learner, enrolled, capture):
    last = all_but_last_drop(learner, enrolled)
    first, second, third = path_challenges(enrolled)
    with capture(execute=True):
        complete(api, last)
        grade(learner, first)
        grade(learner, second)
        failed = grade(learner, third, status="failed", score=0.3)
    assert Certificate.objects.count() == 0

    with capture(execute=True):
        grade(learner, third, score=0.75)
    certificate = Certificate.objects.get()
    assert certificate.challenges[-1]["best_score"] == 0.75

    with capture(execute=True):
        grade(learner, third, score=1.0)
        submission_regrade(submission_id=failed.pk, verdict=verdict("passed", 1.0))
    assert Certificate.objects.count() == 1
    assert Certificate.objects.get().challenges[-1]["best_score"] == 0.75  # a snapshot: later passes change nothing


def test_a_regrade_that_turns_the_last_fail_into_a_pass_issues_it(learner, enrolled, capture, api):
    last = all_but_last_drop(learner, enrolled)
    first, second, third = path_challenges(enrolled)
    with capture(execute=True):
        complete(api, last)
        grade(learner, first)
        grade(learner, second)
        failed = grade(learner, third, status="failed", score=0.6)
    assert Certificate.objects.count() == 0
    with capture(execute=True):
        submission_regrade(submission_id=failed.pk, verdict=verdict("passed", 1.0))
    assert Certificate.objects.filter(user=learner).count() == 1


def test_last_drop_and_last_verdict_in_one_commit_issue_one(learner, enrolled, capture):
    """Both hooks fire after the same commit: the second finds the first's certificate."""
    from django.db import transaction

    from drops.services import drop_complete

    last = all_but_last_drop(learner, enrolled)
    challenges = path_challenges(enrolled)
    with capture(execute=True) as callbacks:
        for challenge in challenges[:2]:
            grade(learner, challenge)
        with transaction.atomic():
            grade(learner, challenges[2])
            drop_complete(user=learner, drop=last, seconds_spent=60)
    assert len(callbacks) >= 2
    assert Certificate.objects.count() == 1


def requirements_page(user) -> str:
    browser = Client()
    browser.force_login(user)
    return " ".join(browser.get("/certificates/").content.decode().split())


def test_not_issued_without_a_complete_plan_and_issued_once_when_the_plan_is_saved_last(
    api, learner, enrolled, capture
):
    """The learner marked the worksheet drop done with a draft plan: the certificate waits for the plan."""
    from plans.services import plan_update

    last = all_but_last_drop(learner, enrolled, plan=False)
    draft = save_plan(learner, training_cost=None, terms_of_use_notes="")
    with capture(execute=True):
        for challenge in path_challenges(enrolled):
            grade(learner, challenge)
        complete(api, last)
    assert Certificate.objects.count() == 0
    page = requirements_page(learner)
    assert "Daily drops completed: <strong>14 of 14</strong>" in page
    assert "Code challenges passed: <strong>3 of 3</strong>" in page
    assert "Distillation plan saved with every section filled in: <strong>not yet</strong>" in page
    assert 'href="/plans/"' in page

    with capture(execute=True):
        plan_update(plan=draft, training_cost=48, terms_of_use_notes="Terms read on 2026-11-30.")
    certificate = Certificate.objects.get()
    assert (certificate.user, certificate.drops_completed, certificate.drops_total) == (learner, 14, 14)

    with capture(execute=True):
        plan_update(plan=draft, title="SQL assistant, v2")  # saving again
        save_plan(learner, title="Another plan")  # a second complete plan
    assert Certificate.objects.get().public_id == certificate.public_id


def test_saving_the_plan_on_the_last_day_completes_the_last_drop_and_issues_one(learner, enrolled, capture):
    """The worksheet drop is open and every challenge passed: saving the complete plan finishes the path."""
    last = all_but_last_drop(learner, enrolled, plan=False)
    with capture(execute=True):
        for challenge in path_challenges(enrolled):
            grade(learner, challenge)
    assert Certificate.objects.count() == 0
    with capture(execute=True) as callbacks:
        save_plan(learner)
    assert len(callbacks) >= 2  # the drop's check and the plan's, after the same commit
    assert DropProgress.objects.get(user=learner, drop=last).completed_at is not None
    assert Certificate.objects.filter(user=learner, path=enrolled).count() == 1


def test_a_plan_saved_first_counts_once_the_rest_is_done(api, learner, enrolled, capture):
    last = all_but_last_drop(learner, enrolled)  # the complete plan was saved days ago
    assert "Distillation plan saved with every section filled in: <strong>done</strong>" in requirements_page(learner)
    with capture(execute=True):
        for challenge in path_challenges(enrolled):
            grade(learner, challenge)
        assert Certificate.objects.count() == 0
        complete(api, last)
    assert Certificate.objects.count() == 1


def test_another_learners_plan_does_not_count(api, learner, enrolled, make_user, capture):
    save_plan(make_user("bob"))
    last = all_but_last_drop(learner, enrolled, plan=False)
    with capture(execute=True):
        for challenge in path_challenges(enrolled):
            grade(learner, challenge)
        complete(api, last)
    assert Certificate.objects.count() == 0


def test_a_path_without_the_worksheet_needs_no_plan(api, learner, capture):
    from drops.models import Drop
    from learnpath.models import Path, Phase

    path = Path.objects.create(slug="short-path", title="A short path")
    phase = Phase.objects.create(path=path, slug="only", title="The only phase", position=1)
    Drop.objects.create(path=path, phase=phase, slug="only-drop", title="Only drop", position=1, body_html="<p>x</p>")
    learnpath_services.enrollment_create(user=learner, path=path)
    assert "Distillation plan" not in requirements_page(learner)
    last = all_but_last_drop(learner, path, plan=False)
    with capture(execute=True):
        complete(api, last)
    assert Certificate.objects.get().path == path


def test_issuing_again_returns_the_same_certificate(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture)
    again = [services.certificate_issue(user=learner, path=enrolled) for _ in range(3)]
    assert {c.pk for c in again} == {certificate.pk}
    assert Certificate.objects.count() == 1


def test_one_certificate_per_learner_and_path_is_enforced_by_the_database(learner, enrolled, capture):
    from django.db import IntegrityError, transaction

    certificate = finish_path(learner, enrolled, capture)
    with pytest.raises(IntegrityError), transaction.atomic():
        Certificate.objects.create(user=learner, path=enrolled, issued_at=timezone.now(), drops_completed=14,
                                   drops_total=14)  # fmt: skip
    assert Certificate.objects.get().pk == certificate.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_issues_make_one_certificate(make_user, content):
    """Six issuers at once against PostgreSQL (the unique constraint and get_or_create race for real)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("race tests need PostgreSQL (set DATABASE_URL=postgres://...)")
    user = make_user("racer")
    learnpath_services.enrollment_create(user=user, path=content)
    all_but_last_drop(user, content)
    DropProgress.objects.filter(user=user).update(completed_at=timezone.now())
    for challenge in path_challenges(content):  # stored directly: no hook runs, the issuers below race first
        Submission.objects.create(
            user=user, challenge=challenge, attempt=1, code="def f(): ...", status="passed", score=1.0,
            finished_at=timezone.now(),
        )  # fmt: skip
    assert Certificate.objects.count() == 0

    results = run_at_once([lambda: services.certificate_issue(user=user, path=content)] * 6)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Certificate.objects.count() == 1
    assert {r.pk for r in results} == {Certificate.objects.get().pk}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_last_drop_and_last_verdict_in_overlapping_transactions_issue_exactly_one(make_user, content):
    """Both writes are made while the other's transaction is still open, so neither sees the other's change
    before committing; the check after the later commit sees both and issues the certificate, once."""

    from django.db import connection

    from drops.services import drop_complete

    if connection.vendor != "postgresql":
        pytest.skip("race tests need PostgreSQL (set DATABASE_URL=postgres://...)")
    user = make_user("racer")
    learnpath_services.enrollment_create(user=user, path=content)
    last = all_but_last_drop(user, content)
    *earlier, final = path_challenges(content)
    for challenge in earlier:
        grade(user, challenge)
    running = Submission.objects.create(
        user=user, challenge=final, attempt=1, code="def f(): ...", status=Submission.Status.RUNNING
    )
    results = in_overlapping_transactions(
        lambda: drop_complete(user=user, drop=last, seconds_spent=60),
        lambda: submission_record_verdict(submission_id=running.pk, verdict=verdict()),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Certificate.objects.filter(user=user, path=content).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_plan_and_last_verdict_in_overlapping_transactions_issue_exactly_one(make_user, content):
    """The plan is saved complete while the last passing verdict's transaction is open, and the other way
    round: neither sees the other's change before committing; the check after the later commit issues it once."""

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("race tests need PostgreSQL (set DATABASE_URL=postgres://...)")
    user = make_user("racer")
    learnpath_services.enrollment_create(user=user, path=content)
    last = all_but_last_drop(user, content, plan=False)
    DropProgress.objects.filter(user=user, drop=last).update(completed_at=timezone.now())  # marked done
    *earlier, final = path_challenges(content)
    for challenge in earlier:
        grade(user, challenge)
    draft = save_plan(user, training_cost=None)
    running = Submission.objects.create(
        user=user, challenge=final, attempt=1, code="def f(): ...", status=Submission.Status.RUNNING
    )
    from plans.services import plan_update

    results = in_overlapping_transactions(
        lambda: plan_update(plan=draft, training_cost=48),
        lambda: submission_record_verdict(submission_id=running.pk, verdict=verdict()),
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Certificate.objects.filter(user=user, path=content).count() == 1


def in_overlapping_transactions(first, second) -> list:
    """``first`` writes in a transaction that stays open until ``second``, started once ``first`` has written,
    has written in its own: neither sees the other's change before committing. Results (or errors) in order."""
    import threading

    from django.db import transaction

    first_written, second_written = threading.Event(), threading.Event()

    def run_first():
        with transaction.atomic():
            first()
            first_written.set()
            assert second_written.wait(timeout=30)

    def run_second():
        assert first_written.wait(timeout=30)
        with transaction.atomic():
            second()
            second_written.set()

    return run_at_once([run_first, run_second])


def run_at_once(functions: list) -> list:
    """Call each function in its own thread, all released at the same moment; results (or errors) in order."""
    import threading

    from django.db import connections

    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def call(i: int) -> None:
        try:
            barrier.wait()
            results[i] = functions[i]()
        except Exception as error:  # noqa: BLE001 - reported to the test
            results[i] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(functions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


# --------------------------------------------------------------------------- the API


def test_the_api_lists_only_the_learners_own(api, learner, enrolled, make_user, capture):
    mine = finish_path(learner, enrolled, capture, name="Ada Lovelace")
    other = make_user("bob")
    learnpath_services.enrollment_create(user=other, path=enrolled)
    theirs = finish_path(other, enrolled, capture)

    data = api.get("/api/certificates/").json()
    assert [c["public_id"] for c in data] == [mine.public_id]
    assert data[0]["name"] == "Ada Lovelace" and data[0]["name_chosen"] is True and data[0]["valid"] is True
    assert data[0]["path"] == {"slug": enrolled.slug, "title": enrolled.title}
    assert data[0]["verification_url"].endswith(f"/certificates/{mine.public_id}/")
    assert [c["public_id"] for c in api_client_for(other).get("/api/certificates/").json()] == [theirs.public_id]


def test_the_api_list_needs_a_sign_in(anon_api):
    assert anon_api.get("/api/certificates/").status_code == 401


def test_the_public_api_verifies_signed_out_and_reveals_nothing_private(private_learner, content, capture, anon_api):
    certificate = finish_path(private_learner, content, capture)
    response = anon_api.get(f"/api/certificates/{certificate.public_id}/")
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "public_id", "valid", "name", "path", "issued_at", "drops_completed", "drops_total", "challenges",
        "verification_url", "pdf_url",
    }  # fmt: skip
    assert data["pdf_url"] == f"http://testserver/certificates/{certificate.public_id}.pdf"
    assert data["valid"] is True and data["name"] is None  # no name chosen yet: the username is not shown
    assert (data["drops_completed"], data["drops_total"]) == (14, 14)
    assert [c["best_score"] for c in data["challenges"]] == [0.95, 0.95, 0.95]
    body = response.content.decode()
    assert PRIVATE_USERNAME not in body and PRIVATE_EMAIL not in body

    services.certificate_name_set(certificate=certificate, name="Grace Hopper")
    assert anon_api.get(f"/api/certificates/{certificate.public_id}/").json()["name"] == "Grace Hopper"


def test_the_public_api_answers_404_for_unknown_and_revoked_ids(learner, enrolled, capture, anon_api):
    certificate = finish_path(learner, enrolled, capture)
    unknown = anon_api.get("/api/certificates/not-a-real-id-000000000/")
    assert unknown.status_code == 404 and unknown.json()["detail"] == "No certificate has this id."
    services.certificate_revoke(certificate=certificate, reason="copied solutions")
    revoked = anon_api.get(f"/api/certificates/{certificate.public_id}/")
    assert revoked.status_code == 404 and "revoked" in revoked.json()["detail"]
    assert "copied solutions" not in revoked.content.decode()
    own = api_client_for(learner).get("/api/certificates/").json()
    assert own[0]["valid"] is False and own[0]["revoked_at"]


# --------------------------------------------------------------------------- the pages


def test_the_public_page_works_signed_out_and_shows_nothing_private(private_learner, content, capture):
    certificate = finish_path(private_learner, content, capture)
    anonymous = Client()
    page = anonymous.get(f"/certificates/{certificate.public_id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "This certificate is valid" in html
    assert "Name not yet chosen by the holder" in html
    assert PRIVATE_USERNAME not in html and PRIVATE_EMAIL not in html

    services.certificate_name_set(certificate=certificate, name="Grace Hopper")
    html = " ".join(anonymous.get(f"/certificates/{certificate.public_id}/").content.decode().split())
    assert "Grace Hopper" in html and content.title in html
    assert certificate.issued_at.strftime("%-d %B %Y") in html
    assert "All 14 of the path's 14 daily drops were completed." in html
    for challenge in path_challenges(content):
        assert f"<strong>{challenge.title}</strong>: passed with a score of 95%" in html
    assert "isolated sandbox" in html
    assert PRIVATE_USERNAME not in html and PRIVATE_EMAIL not in html
    assert "Log out" not in html  # signed out: nobody's account appears in the page


def test_a_right_to_left_name_keeps_its_direction_on_the_pages(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture, name="מרים כהן")
    verify = Client().get(f"/certificates/{certificate.public_id}/").content.decode()
    # Isolated from the English sentence around it, and the sheet takes the name's own direction.
    assert "<bdi>מרים כהן</bdi>" in verify
    assert re.search(r'<p class="certificate-name"[^>]*dir="auto"[^>]*>מרים כהן</p>', verify)


def test_unknown_and_revoked_ids_get_a_clear_404_page(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture, name="Ada Lovelace")
    anonymous = Client()
    unknown = anonymous.get("/certificates/AAAAAAAAAAAAAAAAAAAAAA/")
    assert unknown.status_code == 404
    assert "No certificate has this id" in unknown.content.decode()

    services.certificate_revoke(certificate=certificate, reason="")
    revoked = anonymous.get(f"/certificates/{certificate.public_id}/")
    assert revoked.status_code == 404
    html = revoked.content.decode()
    assert "This certificate is not valid" in html and "revoked" in html
    assert "Ada Lovelace" not in html and "This certificate is valid" not in html


def test_the_learners_page_shows_it_printable_with_a_share_link(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture)
    browser = Client()
    browser.force_login(learner)
    html = browser.get("/certificates/").content.decode()
    assert 'name="name"' in html and f'value="{learner.username}"' in html  # the username is the default
    services.certificate_name_set(certificate=certificate, name="Ada Lovelace")
    html = browser.get("/certificates/").content.decode()
    assert 'name="name"' not in html  # chosen once: no form any more
    assert "Ada Lovelace" in html and enrolled.title in html
    assert f"http://testserver/certificates/{certificate.public_id}/" in html
    assert "Print or save as PDF" in html and "certificates/certificates.css" in html


def test_the_print_stylesheet_is_a4_landscape_without_navigation(client):
    from django.contrib.staticfiles import finders

    css = open(finders.find("certificates/certificates.css")).read()
    assert "size: A4 landscape" in css
    assert ".site-header, .site-footer" in css.split("@media print")[1]


def test_progress_and_path_pages_link_to_the_certificate(learner, enrolled, capture):
    browser = Client()
    browser.force_login(learner)
    assert "What is left to earn it" in browser.get("/progress/").content.decode()
    finish_path(learner, enrolled, capture)
    for url in ("/progress/", f"/paths/{enrolled.slug}/"):
        html = browser.get(url).content.decode()
        assert "View, print or share your certificate" in html, url
        assert 'href="/certificates/"' in html


def test_the_certificates_page_needs_a_sign_in():
    response = Client().get("/certificates/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --------------------------------------------------------------------------- the printed name


def name_post(browser, certificate, name):
    return browser.post(f"/certificates/{certificate.public_id}/name/", {"name": name})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "Enter the name to print on your certificate."),
        ("x" * 101, "Use at most 100 characters (this name has 101)."),
        ("Ada\x07Lovelace", "Remove a control character, U+0007 at character 4"),
        ("Ada\nLovelace", "Remove a line break or tab, U+000A at character 4"),
        (
            "Ada\u202eecalevoL",
            "Remove a bidirectional control character (right-to-left override), U+202E at character 4",
        ),
        ("Ada\u200bLovelace", "Remove an invisible formatting character (zero width space), U+200B"),
    ],
)
def test_a_bad_name_is_refused_with_a_clear_message(learner, enrolled, capture, name, message):
    certificate = finish_path(learner, enrolled, capture)
    browser = Client()
    browser.force_login(learner)
    response = name_post(browser, certificate, name)
    assert response.status_code == 400
    assert message in response.content.decode()
    certificate.refresh_from_db()
    assert not certificate.name_chosen and certificate.name == ""


@pytest.mark.parametrize("name", ["Ada 👩\u200d💻", "Zoë ❤\ufe0f", "Jose\u0301", "Ngô Bảo Châu", "علي", "نرگس\u200cها"])
def test_a_name_with_emoji_sequences_or_combining_marks_is_accepted(learner, enrolled, capture, name):
    certificate = finish_path(learner, enrolled, capture)
    browser = Client()
    browser.force_login(learner)
    assert name_post(browser, certificate, name).status_code == 302
    certificate.refresh_from_db()
    assert certificate.name == unicodedata.normalize("NFC", name)


def test_the_name_is_set_once(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture)
    browser = Client()
    browser.force_login(learner)
    response = name_post(browser, certificate, "  Ada   Lovelace ")
    assert response.status_code == 302 and response["Location"] == "/certificates/"
    certificate.refresh_from_db()
    assert certificate.name == "Ada Lovelace" and certificate.name_chosen_at is not None

    with pytest.raises(services.CertificateNameError, match="already been chosen"):
        services.certificate_name_set(certificate=certificate, name="Someone Else")
    response = name_post(browser, certificate, "Someone Else")
    assert response.status_code == 400 and "already been chosen" in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.name == "Ada Lovelace"


def test_a_name_of_exactly_the_limit_and_unicode_is_accepted(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture)
    services.certificate_name_set(certificate=certificate, name="Zoë Ångström-" + "x" * 87)
    certificate.refresh_from_db()
    assert len(certificate.name) == 100 and certificate.name.startswith("Zoë Ångström-")


def test_only_the_holder_can_set_the_name(learner, enrolled, make_user, capture):
    certificate = finish_path(learner, enrolled, capture)
    other = Client()
    other.force_login(make_user("mallory"))
    assert name_post(other, certificate, "Mallory").status_code == 404
    assert Client().post(f"/certificates/{certificate.public_id}/name/", {"name": "x"}).status_code == 302
    certificate.refresh_from_db()
    assert not certificate.name_chosen


def test_a_revoked_certificates_name_cannot_be_set(learner, enrolled, capture):
    certificate = finish_path(learner, enrolled, capture)
    services.certificate_revoke(certificate=certificate, reason="")
    with pytest.raises(services.CertificateNameError, match="revoked"):
        services.certificate_name_set(certificate=certificate, name="Ada")


# --------------------------------------------------------------------------- admin


def test_admin_lists_and_revokes(learner, enrolled, capture, make_user):
    certificate = finish_path(learner, enrolled, capture)
    staff = make_user("staff")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    browser = Client()
    browser.force_login(staff)
    listing = browser.get("/admin/certificates/certificate/")
    assert listing.status_code == 200 and certificate.public_id in listing.content.decode()
    response = browser.post(
        "/admin/certificates/certificate/",
        {"action": "revoke", "_selected_action": [certificate.pk]},
        follow=True,
    )
    assert "Revoked 1 certificate." in response.content.decode()
    certificate.refresh_from_db()
    assert certificate.revoked_at is not None and certificate.revoked_reason == "Revoked by staff"
    assert Client().get(f"/certificates/{certificate.public_id}/").status_code == 404
    assert browser.get("/admin/certificates/certificate/add/").status_code == 403


# --------------------------------------------------------------------------- catching up


def test_issuecertificates_catches_up_learners_who_already_finished(learner, enrolled, make_user):
    from io import StringIO

    from django.core.management import call_command

    last = all_but_last_drop(learner, enrolled)
    DropProgress.objects.filter(user=learner, drop=last).update(completed_at=timezone.now())
    for challenge in path_challenges(enrolled):  # stored before certificates existed: no hook ran
        Submission.objects.create(
            user=learner, challenge=challenge, attempt=1, code="def f(): ...", status="passed", score=1.0,
            finished_at=timezone.now(),
        )  # fmt: skip
    unfinished = make_user("bob")
    learnpath_services.enrollment_create(user=unfinished, path=enrolled)
    assert Certificate.objects.count() == 0

    out = StringIO()
    call_command("issuecertificates", stdout=out)
    assert "1 certificate issued" in out.getvalue()
    assert list(Certificate.objects.values_list("user__username", flat=True)) == [learner.username]
    call_command("issuecertificates", stdout=(again := StringIO()))
    assert "0 certificates issued" in again.getvalue() and Certificate.objects.count() == 1
