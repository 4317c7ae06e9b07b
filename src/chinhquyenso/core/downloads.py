"""One way to hand a file to a browser (citizen portal, back office, API): a stored
attachment or a generated PDF is served in a sandbox, so that a file an applicant uploaded
can never run as a page of the platform's origin.

- `Content-Disposition` with the file's name (RFC 6266, UTF-8 names encoded as RFC 5987);
- `X-Content-Type-Options: nosniff`: the browser keeps the stored, content-checked type;
- `Content-Security-Policy: default-src 'none'; sandbox`: no script, no request, an opaque
  origin, even if the file were HTML or SVG in disguise;
- `Cache-Control: private, no-store`: personal data stays off shared caches."""

from django.http import FileResponse, HttpResponse
from django.utils.http import content_disposition_header

SANDBOX_CSP = "default-src 'none'; sandbox"


def sandboxed(response: HttpResponse, filename: str, *, inline: bool = True) -> HttpResponse:
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cache-Control"] = "private, no-store"
    return response


def serve_file(content, *, content_type: str, filename: str, inline: bool = True) -> HttpResponse:
    """`content`: bytes (a generated PDF) or an open binary file (a stored attachment)."""
    if isinstance(content, (bytes, bytearray)):
        response = HttpResponse(content, content_type=content_type)
    else:
        response = FileResponse(content, content_type=content_type)
    return sandboxed(response, filename, inline=inline)
