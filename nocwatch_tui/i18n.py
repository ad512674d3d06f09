"""Translation of user-facing strings through gettext.

Every string that the console or the command line shows to a person goes
through `_()`, so that a catalogue in `nocwatch_tui/locale/<lang>/LC_MESSAGES/
nocwatch.mo` translates it without code changes.
"""

import gettext
from pathlib import Path

DOMAIN = "nocwatch"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation = gettext.translation(DOMAIN, localedir=LOCALE_DIR, fallback=True)


def _(message: str) -> str:
    """Translate a message into the user's language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message whose wording depends on a count."""
    return _translation.ngettext(singular, plural, count)
