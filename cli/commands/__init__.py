"""One module per command (restic's ``cmd_<verb>``), each with ``register(subparsers)``.

Registration is cheap (names, help, the handler; arguments deferred, see ``cli.parser``);
the store, the engines, httpx and Textual are imported inside the handler that needs them.
"""
