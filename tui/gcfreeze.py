"""After a bulk listing: keep the cyclic collector's full passes off the rows it made.

A 50,000-secret listing leaves ~250,000 objects (entries, rows, their strings and tuples)
that survive into the collector's oldest generation while it is paused (core._gc); the
first full pass once it resumes walks all of them: 0.25 s of CPU, the UI frozen, just as
the list completes (measured: 2.2 CPU s for a 50,000-secret live list, 1.4 without it).
They hold no reference cycles (reference counting frees them), so walking them finds
nothing. :func:`freeze_survivors` moves what the collector tracks into its permanent
generation (``gc.freeze``), after a sweep has freed the young cycles the listing left;
:func:`thaw` (a browser unmounted) gives it all back, so a closed screen's own cycles are
collected as before, by the next full pass.
"""

from __future__ import annotations

import gc


def freeze_survivors() -> None:
    """Take every object tracked now out of the collector's passes (until :func:`thaw`)."""
    gc.freeze()


def thaw() -> None:
    """Give the frozen objects back to the collector (its next full pass walks them)."""
    gc.unfreeze()
