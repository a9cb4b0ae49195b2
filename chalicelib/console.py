"""The schedule console: static files served by the app itself, so ``make run`` and every
deployed stage have it with nothing else to install.

The page lives at the API's root (``GET /``) and its assets at ``/console/<name>``; the
script calls the API under the same base path. Only the files named in ``ASSETS`` are
served (no path from the request ever reaches the file system), and ``config.json`` tells
the page the stage's auth mode. These routes carry no authorizer: they hold no data, and a
signed-out person must be able to load the page that signs them in.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.config import Settings
from chalicelib.errors import NotFound

CONSOLE_DIR = Path(__file__).resolve().parent / "console"
PAGE = "index.html"
CONFIG = "config.json"
ASSETS = {
    PAGE: "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    # the script and style of GET /api/docs (chalicelib/apidocs.py): files, so its CSP
    # allows no inline script
    "docs.js": "text/javascript; charset=utf-8",
    "docs.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@lru_cache(maxsize=len(ASSETS))
def _read(name: str) -> str:
    return (CONSOLE_DIR / name).read_text(encoding="utf-8")


def asset(name: str) -> tuple[str, dict[str, str | list[str]]]:
    """The body and headers (typed as a Chalice ``Response`` takes them) of one of the
    console's files; NotFound for any other name."""
    content_type = ASSETS.get(name)
    if content_type is None:
        raise NotFound(f"the console has no file {name!r}")
    return _read(name), {"Content-Type": content_type, **SECURITY_HEADERS}


def page_config(settings: Settings) -> dict[str, Any]:
    """What the page needs to know about the stage: how callers authenticate."""
    return {"stage": settings.stage, "auth_mode": settings.auth_mode}
