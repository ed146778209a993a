"""The ``secret-kloset`` command line: a thin layer over ``core`` (and ``tui`` for the console)."""
