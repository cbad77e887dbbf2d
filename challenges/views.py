"""Browser pages for challenges (filled in below)."""

from django.http import HttpResponse


def challenge_page(request, slug: str):
    return HttpResponse(status=404)
