"""Checks of the settings' `[keymap]` table against the binding ids the console declares."""

from collections.abc import Iterable, Mapping

from textual.binding import Binding
from textual.dom import DOMNode


def binding_ids(owners: Iterable[type[DOMNode]]) -> set[str]:
    """Return the id of every binding declared by these classes or their bases."""
    ids: set[str] = set()
    for owner in owners:
        for cls in owner.__mro__:
            for binding in vars(cls).get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id is not None:
                    ids.add(binding.id)
    return ids


def unknown_binding_ids(keymap: Mapping[str, str], owners: Iterable[type[DOMNode]]) -> list[str]:
    """Return the keymap's binding ids that no binding of these classes has, sorted."""
    known = binding_ids(owners)
    return sorted(binding_id for binding_id in keymap if binding_id not in known)
