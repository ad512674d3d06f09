"""The footer of key bindings, rebuilt only when the keys it shows change."""

from textual.screen import Screen
from textual.widgets import Footer

_KeyState = tuple[tuple[str, str, str, bool], ...]


class KeyFooter(Footer):
    """Footer that skips a rebuild when no key was added, removed, enabled or disabled.

    Textual signals the footer to rebuild on every focus change and every
    `refresh_bindings`, and each rebuild replaces its key widgets. In Textual
    8.2 a replaced key widget stays referenced by the footer (each one
    watches the footer's `compact` setting), so a console refreshing its
    bindings a few times a second grew without bound. Skipping the rebuilds
    that would draw the same keys keeps that growth to real key changes.
    NOTE: the replaced key widgets of real changes are still not freed.
    """

    def __init__(self, *, compact: bool = False, show_command_palette: bool = True) -> None:
        super().__init__(compact=compact, show_command_palette=show_command_palette)
        self._shown_keys: _KeyState | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        keys = tuple(
            (key, active.binding.action, active.binding.description, active.enabled)
            for key, active in screen.active_bindings.items()
            if active.binding.show
        )
        if keys == self._shown_keys and screen.app.app_focus:
            return
        if screen.app.app_focus:
            self._shown_keys = keys
        super().bindings_changed(screen)
