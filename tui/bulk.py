"""Building a list of 50,000 entries without paying Python's cyclic garbage collector for it.

While a long list arrives, every chunk allocates thousands of objects that live for a while
(a chunk's decoded records or API models) beside a growing set of long-lived ones (the
entries, the rows), so the collector runs hundreds of times and its full passes walk the
whole heap: measured on a 50,000-secret snapshot, ~750 collections and 1.2-1.6 s of a 4.5 s
open (the store's decoding in the same process included). So while a listing runs the
automatic collector is off, and the listing sweeps the young generations itself every few
thousand entries (:func:`sweep`: a pass over the objects made since the last one, a few
milliseconds): the reference cycles the chunks leave behind (~100 MB over a 50,000-record
snapshot when nothing sweeps them) are freed soon, and the heap is never walked whole. (A closed screen
is such a cycle: the secrets browser lets go of its entries when it is unmounted, so a second
listing does not carry the first one's 50,000 until the collector resumes.) The collector
resumes (as it was) when the last listing ends, is cancelled or fails.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_active = 0
_resume = False  # whether the first listing found the collector enabled


@contextmanager
def collector_paused() -> Iterator[None]:
    """Turn the automatic collector off for the duration (nesting and overlapping are fine:
    it resumes when the last one ends, and only if it was enabled when the first began)."""
    global _active, _resume
    if _active == 0:
        _resume = gc.isenabled()
        gc.disable()
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _resume:
            gc.enable()


def sweep() -> None:
    """Collect the young generations (what a chunk left behind), never the whole heap; a
    no-op when no listing paused the collector, or when the program runs without it."""
    if _active and _resume:
        gc.collect(1)
