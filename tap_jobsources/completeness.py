"""What one read of a list can prove about itself.

A page-numbered list that changes while it is read shifts: an item removed from a page already
read moves every later item one place back, and the item at the next page's edge lands on the page
just read, where no one asks for it. What an API gives to see it with is the total on each answer
(Getro ``meta.total``, talent ``meta.total_items``, TrackJobChanges ``total_count``). The reader
(``page_loop.py``) reports each answer here; :class:`ListCheck` says how far the list moved since the
answer before (so that the reader asks again for the positions that may have shifted), dedupes what
comes twice, and in the end says whether the read is *proven*:

- the pages ended where the list says it ends (a short or empty page agrees with the total, or the
  answer says it is the last), no empty page was taken for the end while the total said more;
- every shrink of the list was followed by a read again of what may have shifted, within budget;
- the items read are at least the total, less what the list grew by on the way (an item added
  before the read position is new: it is not "listed for the whole read", and the next run has it);
- a page that says it is the last stands at the end of the list its own total gives;
- a resumed read: the list moved, across the interruption and after, by no more than the ids kept
  of the page read last before it (``window``), so an item read before it that came again is
  known, not counted as new.

An id is counted by its value, whatever its JSON type: ``100`` and ``"100"`` are one item (a
rolling deploy may change the type between pages).

A read that cannot prove itself is *unproven*, with a reason: the reader warns once, and the run
sends no ACTIVATE_VERSION for the stream (``runtime.RunLedger``), so a target retires nothing on it.
What no total can show (an item removed and another added in the same instant, both before the
read position) stays unseen; the README says so.

What proves a list's read is the stream's to declare (:class:`Proof`, ``JobSourcesStream.proof``):
its answers' total (the default), an answer that says it is the last page (a list whose answers give
no total, such as an append-only log), or one answer that is the whole list.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from enum import StrEnum

if t.TYPE_CHECKING:
    from tap_jobsources.paging import PageInfo


class Proof(StrEnum):
    """What proves a read of a stream's list complete, as the stream declares it."""

    #: The answers' total (a page-numbered list: every answer says it, and the pages must reach
    #: it); a cursor list ends on an answer whose cursor field is null or empty.
    TOTAL = "total"
    #: An answer that says it is the last page (``last_page``, ``next_page`` null), for a list
    #: whose answers give no total; a total, where one comes, is still checked.
    LAST_PAGE = "last_page"
    #: One answer is the whole list (a reference list, a detail endpoint): nothing to page.
    SINGLE = "single"


@dataclass
class ListCheck:
    """One partition's read of a list (numbered or cursor), answer after answer."""

    #: Items an interrupted run read before the page this run starts at.
    before: int = 0
    #: The total the interrupted run saw last (None: none, or a fresh read).
    resumed_total: int | None = None
    #: A resumed read: the ids of the page the interrupted run read last (seen, and so not new).
    window: int = 0
    resumed: bool = False
    seen: set[t.Any] = field(default_factory=set)
    #: The ids of the page counted last (numbers and strings), for a resumed read to know again.
    page_ids: list[t.Any] = field(default_factory=list)
    anonymous: int = 0  # items without an id: counted, never deduplicated
    totals: list[int] = field(default_factory=list)  # as the answers said, in order
    grew: int = 0  # what the list grew by, summed over answers
    shrank: int = 0
    rereads: int = 0  # requests made again for positions that may have shifted
    duplicates: int = 0  # items that came twice (the list grew before the read position)
    problems: list[str] = field(default_factory=list)
    no_total: bool = False  # a numbered list whose answers gave no total
    answers: int = 0  # page-numbered answers reported (answer)
    last_said: bool = False  # one of them said it was the last page

    # Answers --------------------------------------------------------------------------

    def answer(self, info: PageInfo) -> int:
        """A page-numbered answer said ``info``: how far the list shrank since the answer before."""
        self.answers += 1
        self.last_said = self.last_said or info.last is True
        if info.total is None and not info.last:
            self.no_total = True
        return self.moved(info.total)

    def moved(self, total: int | None) -> int:
        """An answer said ``total``: how far the list shrank since the answer before (0: it did not)."""
        if total is None:
            return 0
        previous = self.totals[-1] if self.totals else self.resumed_total
        self.totals.append(total)
        if previous is None or total == previous:
            return 0
        if total > previous:
            self.grew += total - previous
            return 0
        self.shrank += previous - total
        return previous - total

    def count_page(self, records: list[dict], key: t.Callable[[dict], t.Any], *, again: bool = False) -> list[dict]:
        """Count a page's items, each id once. A page read forward is emitted whole (a row the API
        returned is never dropped; one that comes twice is upserted); a page read again for shifted
        positions gives only what was not read yet. ``page_ids`` holds the page's ids after."""
        seen = self.seen
        fresh = []
        ids = self.page_ids = []
        for record in records:
            ident = key(record)
            if type(ident) is str and ident.isascii() and ident.isdigit():
                ident = int(ident)  # "100" is the item 100 is (a rolling deploy may change the type)
            if ident is None or not _hashable(ident):  # an id of the wrong type: the shaper's to judge
                self.anonymous += 1
                fresh.append(record)
                continue
            ids.append(ident)
            if ident in seen:
                self.duplicates += 1
                if again:
                    continue
            else:
                seen.add(ident)
            fresh.append(record)
        return fresh

    def unproven(self, reason: str) -> None:
        self.problems.append(reason)

    @classmethod
    def resuming(cls, items: int, total: int | None, last_ids: t.Sequence[t.Any] | None) -> ListCheck:
        """The check of a partition an interrupted run was reading: ``items`` read before, the last of
        them on a page whose ids are ``last_ids`` (None: a fresh read)."""
        if last_ids is None and not items and total is None:
            return cls()
        ids = {identity(i) for i in last_ids or ()}
        return cls(before=items - len(ids), resumed_total=total, window=len(ids), resumed=True, seen=ids)

    # The end --------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Distinct items read, with those of an interrupted run."""
        return self.before + len(self.seen) + self.anonymous

    @property
    def total(self) -> int | None:
        """The list's size as the last answer said."""
        return self.totals[-1] if self.totals else None

    def short_of_total(self) -> bool:
        """Fewer items read than the total says, less what the list grew by on the way."""
        total = self.total
        return total is not None and self.count < total - self.grew

    def verdict(self, proof: Proof = Proof.TOTAL) -> str | None:
        """None when the read is proven by what the stream declares (``proof``), else why not (for
        the one warning)."""
        problems = list(self.problems)
        moved = self.grew + self.shrank
        if self.resumed and moved > self.window:
            problems.append(
                f"the list moved by {moved} items across or after the interruption, more than the {self.window} ids "
                "kept of the page read before it, so an item read twice cannot be told from a new one"
            )
        if proof is Proof.SINGLE:
            if self.answers:
                problems.append(f"it is declared one answer, yet was read in {self.answers} numbered pages")
        elif proof is Proof.LAST_PAGE:
            if self.answers and not self.last_said:
                problems.append("no answer said it was the last page")
        elif self.no_total and not self.totals:
            problems.append("its answers gave no total to check the pages against")
        if self.short_of_total():  # never with the line above: that one is for a read with no total
            problems.append(f"read {self.count:,} items where the list's total says {self.total:,}")
        return "; ".join(problems) or None

    def figures(self) -> str:
        """What the read cost to prove, for the log."""
        parts = [f"{self.count:,} items"]
        if self.total is not None:
            parts.append(f"total {self.total:,}")
        if self.shrank or self.grew:
            parts.append(f"the list shrank by {self.shrank} and grew by {self.grew} while read")
        if self.rereads:
            parts.append(f"{self.rereads} pages read again")
        if self.duplicates:
            parts.append(f"{self.duplicates} items came twice")
        return ", ".join(parts)


def identity(value: t.Any) -> t.Any:
    """An id as the lists are counted by: a whole number and its decimal text are one id."""
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    return value


def _hashable(value: t.Any) -> bool:
    """Ids are numbers or strings; an object or a list for one cannot be counted, only sent on."""
    return type(value) in (int, str) or isinstance(value, t.Hashable)
