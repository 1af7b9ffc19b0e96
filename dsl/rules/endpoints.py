"""Who may call an API endpoint: a public one is a deliberate, visible choice; a JWT issuer is fetchable."""

from __future__ import annotations

from urllib.parse import urlsplit

from flowgen_design.dsl import codes
from flowgen_design.dsl.rules import RuleContext


def check_endpoint_auth(ctx: RuleContext) -> None:
    for service in ctx.flow.services:
        for api in service.apis:
            auth = api.auth
            if auth.kind == "none":
                ctx.report.add(
                    codes.PUBLIC_ENDPOINT,
                    f"`{api.route}` is public: anyone may call it and put `{api.event.name}` on the bus",
                    auth.span,
                    'drop `auth none` (the default is IAM) or use `auth jwt issuer "https://..." audience "..."`',
                )
            elif auth.kind == "jwt" and not _https_url(auth.issuer or ""):
                ctx.report.add(
                    codes.JWT_ISSUER_NOT_HTTPS,
                    f"the JWT issuer of `{api.route}` is not an https URL: {auth.issuer!r}",
                    auth.span,
                    'write the issuer as its tokens\' `iss` claim, e.g. "https://id.example.com"',
                )


def _https_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in text)
