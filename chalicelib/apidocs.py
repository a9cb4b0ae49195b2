"""Serves the API's description: ``GET /api/openapi.json`` and the ``GET /api/docs`` page.

The page is one HTML file (``docs_page.html``, no third-party assets) with its script and
style served beside the console's files (``/console/docs.js``, ``/console/docs.css``), so its
Content-Security-Policy allows no inline script: it fetches the document next to it, renders
each operation and sends a request from a form.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from chalicelib.config import get_settings
from chalicelib.console import SECURITY_HEADERS
from chalicelib.http import base_url
from chalicelib.openapi import api, auth_mode_of

PAGE = Path(__file__).with_name("docs_page.html")
PAGE_HEADERS: dict[str, str | list[str]] = {"Content-Type": "text/html; charset=utf-8", **SECURITY_HEADERS}


def document_for(app: Any, request: Any) -> dict[str, Any]:
    return _document(app, auth_mode_of(get_settings()), base_url(request) or "/")


@lru_cache(maxsize=16)
def _document(app: Any, auth_mode: str, server_url: str) -> dict[str, Any]:
    """Routes and models are fixed once the app is imported: generate once per server."""
    return api.document(app.routes, auth_mode, server_url=server_url)


@lru_cache(maxsize=1)
def page() -> str:
    return PAGE.read_text(encoding="utf-8")
