"""Secrecy of the Scaleway client: the secret key as a hidden header, query-free logs.

The secret key is sent only as the ``X-Auth-Token`` header, through an :class:`httpx.Auth`
whose ``repr`` hides it. Secret names and paths travel in query strings (list filters,
access by path), so httpx's own request log lines lose their query string here.
"""

from __future__ import annotations

import logging
from collections.abc import Generator

import httpx

__all__ = ["StripQuery", "TokenAuth", "install_log_filter"]


class TokenAuth(httpx.Auth):
    """Adds ``X-Auth-Token`` to each request; its repr never shows the key."""

    def __init__(self, secret_key: str) -> None:
        self.__key = secret_key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["X-Auth-Token"] = self.__key
        yield request

    def __repr__(self) -> str:
        return "_TokenAuth(secret_key=<hidden>)"


class StripQuery(logging.Filter):
    """Drops query strings from httpx's own "HTTP Request: …" log lines.

    Secret names and paths travel in query strings (list filters, access by path); httpx logs
    the full URL at INFO, so an application that turns INFO logging on would otherwise write
    them to its logs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and args:
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) and a.query else a for a in args
            )
        return True


def install_log_filter() -> None:
    """Put :class:`StripQuery` on httpx's and httpcore's loggers (once)."""
    for name in ("httpx", "httpcore"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, StripQuery) for f in logger.filters):
            logger.addFilter(StripQuery())
