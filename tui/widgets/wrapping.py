"""Checkbox and radio button whose long labels wrap (Textual's are one line, cut at 80x24).

Screens import ``Checkbox`` and ``RadioButton`` from here rather than from Textual; they are
Textual's, with a content height measured at the width they get.
"""

from __future__ import annotations

from textual.css.styles import RulesMap
from textual.geometry import Size
from textual.widgets import Checkbox as _Checkbox
from textual.widgets import RadioButton as _RadioButton

_WRAP: RulesMap = {"text_wrap": "wrap", "text_overflow": "fold"}


class Checkbox(_Checkbox):
    """A checkbox whose label wraps (``text-wrap: wrap`` in app.tcss)."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, self.render().get_height(_WRAP, width))


class RadioButton(_RadioButton):
    """A radio button whose label wraps."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, self.render().get_height(_WRAP, width))
