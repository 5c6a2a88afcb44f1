"""Which URLs may receive the App's credentials: only those under the configured API base.

Webhook payloads carry ready-made API URLs (``comment.url``,
``issue.comments_url``…). A forged or replayed payload may name another host,
and gidgethub sends the ``authorization`` header to whatever absolute URL it is
given, so a payload URL is used only when it lies under ``Settings.github_api_url``
(same scheme, host, port, and path below the base's path, e.g. ``/api/v3`` on
GitHub Enterprise Server); otherwise the caller's path, rebuilt from the
repository's name, is used instead (issue 14, "GitHub Enterprise Server").
"""
from __future__ import annotations

from yarl import URL


def under_base(url: str, base: str) -> bool:
    """True when absolute ``url`` is ``base`` itself or below it (scheme, host, port, path prefix).

    Relative URLs are False: they carry no host to compare; the client joins
    them with the base itself. So is a URL with userinfo, or whose decoded path still holds a
    ``.``/``..`` name (``%2e%2e%2f``) after yarl's normalisation.
    """
    try:
        candidate, root = URL(url), URL(base.rstrip("/"))
    except (ValueError, TypeError):
        return False
    if not candidate.is_absolute() or candidate.user or candidate.password:
        return False
    same_origin = (candidate.scheme, candidate.host, candidate.port) == (root.scheme, root.host, root.port)
    prefix = root.path.rstrip("/")
    # yarl resolves ``..`` but keeps an encoded ``%2F``: ``/api/v3/..%2Fx`` decodes to ``/api/v3/../x``,
    # which a server that decodes before routing takes out of the base.
    climbs = any(name in (".", "..") for name in candidate.path.split("/"))
    return same_origin and not climbs and (candidate.path == prefix or candidate.path.startswith(prefix + "/"))


def api_url(url: str | None, base: str, rebuilt: str) -> str:
    """``url`` (from a payload) when it is under ``base``, else ``rebuilt`` (a path relative to the base)."""
    return url if url and under_base(url, base) else rebuilt
