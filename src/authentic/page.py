"""The shopper's page (the static files in `web/` at the repository root) and what every server of it agrees on:
the file that answers `/` and the Digital Link paths, and the security headers.

The CDK construct (`stacks/constructs/web.py`: a private S3 bucket behind CloudFront) and the local gateway
(`authentic.local.web`) both read this module, so the page runs under the same Content-Security-Policy in AWS
and on one machine, and a page change that the policy would block fails the browser tests first.

Plain constants only.
"""

from __future__ import annotations

INDEX = "index.html"
# GS1 Digital Link URIs that carry a GTIN (`/01/{gtin}[/...]?brand=...`) open the page itself, so a brand can
# print one URI on its packaging for both GS1 resolvers and shoppers.
DEEP_LINK_PREFIXES = ("/01/",)

# The page loads only its own files and talks only to its own origin (the verify route is served beside it:
# by the local gateway, and in AWS by the same CloudFront distribution). Photos are shown from blob: URLs;
# `data:` is the empty favicon. No inline script or style, no eval, no frames, no forms.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
REFERRER_POLICY = "no-referrer"
FRAME_OPTIONS = "DENY"
# The page needs none of these; the camera is not listed: `<input capture>` opens the phone's camera app.
PERMISSIONS_POLICY = "geolocation=(), microphone=(), payment=(), usb=()"
HSTS_SECONDS = 2 * 365 * 24 * 3600  # two years, subdomains included (sent over HTTPS only)
# Browsers revalidate every load (an ETag round trip): a deployment changes the files under the same names.
CACHE_CONTROL = "no-cache"


def security_headers() -> dict[str, str]:
    """The headers every response of the page carries (HSTS apart: CloudFront adds it, over HTTPS)."""
    return {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": FRAME_OPTIONS,
        "Referrer-Policy": REFERRER_POLICY,
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
