"""Compatibility: ``cli.profile_cmd`` is now ``cli.commands.profile`` (tests still name this
module in ``cli.main.COMMAND_MODULES``). Remove once nothing imports it."""

from cli.commands.profile import register

__all__ = ["register"]
