"""The API's documentation pages: Swagger UI and Redoc from drf-spectacular-sidecar's static files."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

# The pages' own assets come from this server; the one thing the bundles still ask another host for (Redoc's
# "API docs by Redocly" logo, an image on a CDN) is refused by the browser, so an offline install and a learner's
# privacy are alike unaffected.
DOCS_CONTENT_SECURITY_POLICY = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


class _SameHostOnly:
    @extend_schema(exclude=True)  # pages about the API, not part of it
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerDocs(_SameHostOnly, SpectacularSwaggerView):
    pass


class RedocDocs(_SameHostOnly, SpectacularRedocView):
    template_name = "learnpath/api/redoc.html"  # the stock one loads web fonts from Google
