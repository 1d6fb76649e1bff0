"""Pages of the ledger's lists (medledger_client.listing), against a contract that answers as ListByPid."""

from __future__ import annotations

import re

import pytest

from medledger_client.listing import MAX_PAGE_SIZE, Page, PageError, list_by_pid, list_page, pages
from medledger_tools.paths import REPO_ROOT


class Paged:
    """A contract whose ListByPid pages through `records`, bookmarks being positions; `stuck` makes every
    page return the same bookmark."""

    def __init__(self, records: int, stuck: bool = False) -> None:
        self.records, self.stuck = records, stuck
        self.asked: list[tuple[str | bytes, ...]] = []

    def evaluate(self, function: str, *args: str | bytes) -> bytes:
        self.asked.append((function, *args))
        _pid, size, bookmark = (str(arg) for arg in args)
        start = int(bookmark or 0)
        end = min(start + int(size), self.records)
        following = "1" if self.stuck else (str(end) if end < self.records else "")
        return Page([{"treatmentId": f"T-{n}"} for n in range(start, end)], following, end - start).to_json().encode()


def test_list_by_pid_follows_bookmarks_until_the_last_page() -> None:
    contract = Paged(records=25)
    assert [record["treatmentId"] for record in list_by_pid(contract, "pat-0001", 10)] == [f"T-{n}" for n in range(25)]
    assert contract.asked == [
        ("ListByPid", "pat-0001", "10", ""),
        ("ListByPid", "pat-0001", "10", "10"),
        ("ListByPid", "pat-0001", "10", "20"),
    ]


def test_a_list_that_fills_its_last_page_exactly_ends_there() -> None:
    assert [page.fetched for page in pages(Paged(records=20), "pat-0001", 10)] == [10, 10]


def test_a_bookmark_that_comes_back_stops_the_list() -> None:
    with pytest.raises(PageError, match="returned bookmark '1' twice"):
        list(list_by_pid(Paged(records=50, stuck=True), "pat-0001", 1))


@pytest.mark.parametrize("size", [0, MAX_PAGE_SIZE + 1])
def test_page_sizes_outside_the_chaincodes_bound_are_not_sent(size: int) -> None:
    contract = Paged(records=1)
    with pytest.raises(ValueError, match=f"page size {size} is outside 1..100"):
        list_page(contract, "pat-0001", size)
    assert contract.asked == []


@pytest.mark.parametrize(
    "text",
    [
        b"[]",
        b"not json",
        b'{"records": [], "bookmark": ""}',
        b'{"records": [{}], "bookmark": "", "fetched": 2}',
        b'{"records": [1], "bookmark": "", "fetched": 1}',
        b'{"records": [], "bookmark": null, "fetched": 0}',
    ],
)
def test_an_answer_that_is_not_a_page_is_refused(text: bytes) -> None:
    with pytest.raises(PageError):
        Page.from_json(text)


def test_the_page_size_bound_is_the_chaincodes() -> None:
    source = (REPO_ROOT / "chaincode" / "internal" / "ledger" / "ledger.go").read_text()
    found = re.search(r"^const MaxPageSize = (\d+)$", source, re.MULTILINE)
    assert found, "chaincode/internal/ledger/ledger.go declares no MaxPageSize"
    assert int(found.group(1)) == MAX_PAGE_SIZE
