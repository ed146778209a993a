"""Bulk work without paying Python's cyclic garbage collector for it: the one pause of it.

A bulk step allocates hundreds of thousands of objects that mostly survive (a snapshot's
records read, decrypted and decoded; a console list of 50,000 entries and rows), so the
collector runs hundreds of times and its full passes walk the whole heap again and again:
measured on a 50,000-secret snapshot, ~750 collections and 1.2-1.6 s of a 4.5 s open, and a
third of a 20,000-record read. So during such a step the automatic collector is off
(:func:`collector_paused`), and a long one sweeps the young generations itself every few
thousand objects (:func:`sweep`: a pass over what was made since the last one, a few
milliseconds), so the reference cycles it leaves behind (~100 MB over a 50,000-record
snapshot when nothing sweeps them) are freed soon and the heap is never walked whole.

After a bulk step whose results stay (a console list of 50,000 entries and rows), the
collector's first full pass once it resumes walks all of them and finds no cycle: 0.25-0.4 s
with the UI frozen, as the list completes. :func:`freeze_survivors` (after a :func:`sweep`)
moves what is tracked into the collector's permanent generation (``gc.freeze``); reference
counting still frees those objects, and :func:`thaw` gives them back to the collector's
passes (a console screen unmounted), so a cycle among them is collected by the next one.

Pauses nest and overlap (the store's read inside the console's listing, two listings at
once): the collector resumes when the last one ends, is cancelled or fails, and only if it
was enabled when the first began. One counter for the whole process, so a step that ends
never turns the collector back on under another that is still running.

A short command (a CLI backup, ``ls``, ``check``: :func:`short_run`) exits soon after its
bulk steps, and what they made lives until then: there the last pause freezes it
(``gc.freeze``, ~1 ms) instead of sweeping it (``gc.collect(1)`` walks all of it, ~20 ms
per 10,000 records), and the later passes never walk it either. An unchanged backup of
10,000 x 3, interleaved A/B: 0.966 -> 0.916 s. Reference counting still frees those
objects; only a cycle among them waits for the exit. A resident process (the console, the
demo, a served emulator) keeps the sweep: it lives on and its collector must see what a
step left. A short command's lazy imports (the API client, an engine, aiohttp) are frozen
too, once made (:func:`imported`), as ``cli.main`` freezes what it imported before the run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_active = 0
_resume = False  # whether the first pause found the collector enabled
_short = False  # the process is one short command (short_run): survivors are frozen


def short_run() -> None:
    """Say that this process is one short command, which exits soon after its bulk steps:
    from now on what a ``survivors`` pause made is frozen, not swept (see the module)."""
    global _short
    _short = True


@contextmanager
def collector_paused(*, survivors: bool = False) -> Iterator[None]:
    """Turn the automatic collector off for the duration (nesting and overlapping are fine:
    it resumes when the last one ends, and only if it was enabled when the first began).

    ``survivors``: what the step makes stays (a snapshot's records, returned to a caller
    that keeps them). When such a pause is the last to end, without an error, it sweeps
    the young generations once before the collector resumes (``gc.collect(1)``), so what
    it made reaches the old generation in one pass. Without it the first allocation after
    the pause walks all of it (a generation-0 pass) and ten of those later a
    generation-1 pass walks it again: 19 + 23 ms after 10,000 parent records of 3
    versions, against one 20 ms sweep (the full passes are the same either way). In a
    short command (:func:`short_run`) it freezes them instead: no pass walks them again."""
    global _active, _resume
    if _active == 0:
        _resume = gc.isenabled()
        gc.disable()
    _active += 1
    ended = False
    try:
        yield
        ended = True
    finally:
        _active -= 1
        if _active == 0 and _resume:
            if ended and survivors:
                if _short:
                    gc.freeze()
                else:
                    gc.collect(1)
            gc.enable()


def imported() -> None:
    """Say that a command's lazy imports have just been made (the API client, an engine,
    aiohttp): in a short command (:func:`short_run`) what is tracked now is frozen, as
    ``cli.main`` freezes what it imported before the run. Modules live as long as the process,
    so no pass needs to walk them: without it the first young pass after them walked ~50,000
    of their objects (14 ms, an unchanged backup of 10,000 x 3). Elsewhere a no-op: a resident
    process freezes nothing it may later drop."""
    if _short:
        gc.freeze()


def sweep() -> None:
    """Collect the young generations (what a chunk left behind), never the whole heap; a
    no-op when no step paused the collector, or when the program runs without it."""
    if _active and _resume:
        gc.collect(1)


def freeze_survivors() -> None:
    """Take every object tracked now out of the collector's passes (until :func:`thaw`)."""
    gc.freeze()


def thaw() -> None:
    """Give the frozen objects back to the collector (its next full pass walks them)."""
    gc.unfreeze()
