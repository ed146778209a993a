"""secret-kloset core: the async engine (Scaleway client, emulator, credentials, store, engines).

This package never imports Textual: the console (``tui``) and the CLI (``cli``) sit on top of it.
"""

__version__ = "0.1.0"
