"""Cursor paging of ``POST /search/query``, with the guards that keep it from losing rows or looping.

Paging stops only on the API's end signal (``has_more`` false or no cursor): short and empty pages are normal.
An expired cursor restarts from the ``search_id`` and skips the rows already yielded (at most
:data:`MAX_CURSOR_RESTARTS` times). A cursor seen twice, more pages than the row cap allows, or ``has_more``
without a cursor raise :class:`~dagster_sixtyfour.errors.SixtyfourPaginationError`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any

from dagster_sixtyfour._http import Requester
from dagster_sixtyfour.errors import SixtyfourAPIError, SixtyfourPaginationError
from dagster_sixtyfour.models import Page

logger = logging.getLogger("dagster_sixtyfour")

MAX_CURSOR_RESTARTS = 3
#: Row cap assumed for the page-count guard when the caller gives none (the API's export maximum).
DEFAULT_ROW_CAP = 5000


def paginate(
    requester: Requester, first: dict[str, Any], *, search_id: str, page_size: int, max_results: int | None
) -> Iterator[Page]:
    """Yields pages: ``first`` is the opening request body, later requests send only the cursor."""
    page_limit = 3 * math.ceil((max_results or DEFAULT_ROW_CAP) / page_size) + 10
    delivered = restarts = pages = 0
    while True:
        skip, cursor, seen = delivered, None, set[str]()
        try:
            while True:
                body = {"cursor": cursor} if cursor else first
                data = requester.call("POST", "/search/query", body=body)
                page, skip = _page(data, pages + 1, skip)
                pages += 1
                delivered += len(page.rows)
                if page.rows or not page.has_more:
                    yield page
                _check_progress(page, pages, page_limit, seen)
                if not page.has_more or not page.next_cursor:
                    return
                cursor = page.next_cursor
        except SixtyfourAPIError as err:
            if not cursor or not _cursor_expired(err):
                raise
            restarts += 1
            if restarts > MAX_CURSOR_RESTARTS:
                raise SixtyfourPaginationError(
                    f"Cursor of search {search_id} expired {restarts} times after {delivered} rows; "
                    "giving up (drain pages faster or lower page waits)"
                ) from None
            logger.warning("Cursor expired after %d rows; restarting search %s from the top", delivered, search_id)


def _page(data: dict[str, Any], number: int, skip: int) -> tuple[Page, int]:
    results = data.get("results")
    if results is None:
        results = []
    if not isinstance(results, list):
        raise SixtyfourPaginationError(f"Page {number} has no list of 'results'")
    rows = tuple(r for r in results if isinstance(r, dict))
    dropped = min(skip, len(rows))
    page = Page(
        rows=rows[dropped:],
        number=number,
        has_more=bool(data.get("has_more", False)),
        next_cursor=data.get("next_cursor") or None,
        total_results=_int(data.get("total_results")),
        total_available=_int(data.get("total_available")),
        search_id=data.get("search_id"),
        cursor_expires_in_seconds=_int(data.get("cursor_expires_in_seconds")),
    )
    return page, skip - dropped


def _check_progress(page: Page, pages: int, limit: int, seen: set[str]) -> None:
    if page.has_more and not page.next_cursor:
        raise SixtyfourPaginationError(f"Page {pages} says has_more but carries no next_cursor: pagination ended early")
    if page.next_cursor in seen:
        raise SixtyfourPaginationError(f"Page {pages} returned a cursor already seen: pagination looped")
    if page.next_cursor:
        seen.add(page.next_cursor)
    if pages > limit:
        raise SixtyfourPaginationError(f"More than {limit} pages for this row cap: pagination looped")


def _cursor_expired(err: SixtyfourAPIError) -> bool:
    return err.status_code == 410 or (err.status_code in (400, 404) and "expired" in err.detail.lower())


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
