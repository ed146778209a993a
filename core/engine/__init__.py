"""Engines: backup, restore, copy and preflight, reporting progress through events.

They take the client and the store as the Protocols of :mod:`core.engine.protocols`; ``backup``
and ``restore`` are packages split by concern (see their ``__init__``); ``core.__all__`` is the
public face (docs/API.md).
"""
