"""The absolute URL of each request, without parsing the API URL again every time.

``httpx.URL(text)`` checks every character of the text (a control character, the component
regexes, the IP address of the host): 35-45 us a request, a tenth of the client's CPU per
request. The client's paths come from its endpoint table, with each id percent-encoded
(:mod:`core.scaleway.endpoints`), and its query strings from :class:`httpx.QueryParams`: text
that httpx's parser would keep exactly as it is. :class:`ApiUrls` parses the API URL once and
gives such a path and query the URL httpx would have built from the whole text; anything
else (a path prefix in the API URL, a character the parser would change) is parsed by httpx.

The one shortcut uses httpx's parsed form (``URL._uri_reference``, a ``NamedTuple``); httpx
is pinned below 0.29, and :class:`ApiUrls` compares its result with httpx's own parse of a
probe once and falls back to parsing for good if they ever differ.
"""

from __future__ import annotations

import re

import httpx

__all__ = ["ApiUrls"]

# Text httpx's parser leaves as it is (``quote`` keeps unreserved characters, these
# delimiters and valid ``%XX`` escapes; nothing here is a control character).
_PLAIN_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~/]|%[0-9A-F]{2})*")
_PLAIN_QUERY = re.compile(r"(?:[A-Za-z0-9\-._~=&+]|%[0-9A-F]{2})*")
_MAX_LENGTH = 65536  # httpx refuses longer URLs: left to it to say so
_PROBE = ("/a-b/c_d/%2F~x/1", "k=v+w&page=2&x=%C3%A9")


class ApiUrls:
    """``httpx.URL(api_url + path [+ "?" + query])``, the API URL parsed once."""

    def __init__(self, api_url: str) -> None:
        self.api_url = api_url
        base = httpx.URL(api_url)
        reference = getattr(base, "_uri_reference", None)
        self._base = base
        self._fast = (
            reference is not None
            and hasattr(reference, "_replace")
            and getattr(reference, "path", None) == ""
            and getattr(reference, "query", "") is None
            and getattr(reference, "fragment", "") is None
            and self._same(*_PROBE)
        )

    def _same(self, path: str, query: str) -> bool:
        """Whether the shortcut builds the URL httpx builds (it is disabled if not)."""
        try:
            fast = self._built(path, query)
        except (AttributeError, TypeError, ValueError):
            return False
        slow = httpx.URL(f"{self.api_url}{path}?{query}")
        return (
            fast == slow
            and fast.raw_path == slow.raw_path
            and fast.netloc == slow.netloc
            and fast.scheme == slow.scheme
            and fast.host == slow.host
            and fast.port == slow.port
        )

    def _built(self, path: str, query: str | None) -> httpx.URL:
        url = httpx.URL(self._base)  # a new URL sharing the parsed base (no parse)
        url._uri_reference = self._base._uri_reference._replace(path=path, query=query)
        return url

    def url(self, path: str, query: str | None = None) -> httpx.URL:
        """The request's URL: ``path`` starts with ``/``; ``query`` is already encoded."""
        if (
            self._fast
            and len(path) + len(query or "") < _MAX_LENGTH - len(self.api_url) - 1
            and _PLAIN_PATH.fullmatch(path)
            and (query is None or _PLAIN_QUERY.fullmatch(query))
            and "/." not in path  # no dot segment for httpx to remove
        ):
            return self._built(path, query)
        text = self.api_url + path
        if query is not None:
            text += "?" + query
        return httpx.URL(text)
