"""Lists of the ledger's records, a page at a time, as both chaincodes' ListByPid(pid, pageSize, bookmark)
returns them: {"records": [...], "bookmark": "...", "fetched": n}. The first page is asked for with an
empty bookmark, each next one with the bookmark of the page before; the last page's bookmark is empty.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

# The most records one page holds: chaincode/internal/ledger's MaxPageSize (a unit test holds them equal).
MAX_PAGE_SIZE = 100


class PageError(Exception):
    """An answer that is not a page of a list, or bookmarks that lead nowhere."""


class Evaluates(Protocol):
    """What a list needs of a contract (gateway.Contract): run a query on a peer."""

    def evaluate(self, function: str, *args: str | bytes) -> bytes: ...


@dataclass(frozen=True)
class Page:
    """One page of a list: records in key order (JSON objects, as the ledger stores them), the bookmark
    of the next page (empty on the last) and the number of records fetched."""

    records: list[dict[str, Any]]
    bookmark: str
    fetched: int

    @property
    def last(self) -> bool:
        return not self.bookmark

    @classmethod
    def from_json(cls, text: bytes | str) -> Page:
        try:
            wire = json.loads(text)
        except json.JSONDecodeError as error:
            raise PageError(f"a list query answered with text that is not JSON: {error}") from None
        if not isinstance(wire, dict) or set(wire) != {"records", "bookmark", "fetched"}:
            raise PageError(f"a list query answered with no page: {str(wire)[:200]}")
        records, bookmark, fetched = wire["records"], wire["bookmark"], wire["fetched"]
        if (
            not isinstance(records, list)
            or not all(isinstance(record, dict) for record in records)
            or not isinstance(bookmark, str)
            or not isinstance(fetched, int)
            or fetched != len(records)
        ):
            raise PageError(f"a list query answered with a malformed page: {str(wire)[:200]}")
        return cls(records=records, bookmark=bookmark, fetched=fetched)

    def to_json(self) -> str:
        return json.dumps({"records": self.records, "bookmark": self.bookmark, "fetched": self.fetched})


def check_page_size(page_size: int) -> int:
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page size {page_size} is outside 1..{MAX_PAGE_SIZE}")
    return page_size


def list_page(contract: Evaluates, pid: str, page_size: int = MAX_PAGE_SIZE, bookmark: str = "") -> Page:
    """One page of the PID's records: the first with an empty bookmark, else the one after the page that
    returned the bookmark."""
    check_page_size(page_size)
    return Page.from_json(contract.evaluate("ListByPid", pid, str(page_size), bookmark))


def pages(contract: Evaluates, pid: str, page_size: int = MAX_PAGE_SIZE, bookmark: str = "") -> Iterator[Page]:
    """Every page of the PID's records from the bookmark's (the first by default), following bookmarks to
    the last page. A bookmark that comes back a second time would loop: PageError."""
    used = {bookmark}
    while True:
        page = list_page(contract, pid, page_size, bookmark)
        yield page
        if page.last:
            return
        if page.bookmark in used:
            raise PageError(f"the list of {pid} returned bookmark {page.bookmark!r} twice")
        used.add(page.bookmark)
        bookmark = page.bookmark


def list_by_pid(
    contract: Evaluates, pid: str, page_size: int = MAX_PAGE_SIZE, bookmark: str = ""
) -> Iterator[dict[str, Any]]:
    """Every record of the PID (both chaincodes' ListByPid), in key order, page after page."""
    for page in pages(contract, pid, page_size, bookmark):
        yield from page.records
