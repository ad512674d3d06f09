"""Importing a targets file into a database: what would change, field by field."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from nocwatch_tui.engine.targets import MASKED_VALUE, Target, TargetsFileError
from nocwatch_tui.i18n import _


class ChangeKind(StrEnum):
    """The effect of an import on one target."""

    ADD = "add"
    UPDATE = "update"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class TargetChange:
    """One target of an import and the fields that differ from the database's copy."""

    name: str
    kind: ChangeKind
    fields: list[str] = field(default_factory=list)


def changed_fields(old: Target, new: Target) -> list[str]:
    """Return the names of the fields whose values differ, in model order."""
    return [name for name in Target.model_fields if getattr(old, name) != getattr(new, name)]


def unmask_headers(
    incoming: Sequence[Target], existing: Sequence[Target], source: Path
) -> list[Target]:
    """Replace masked header values by the database's values for the same target and header.

    An export without secrets can thus be imported again without overwriting
    the real values. A masked value with no stored value to replace it is an error.
    """
    by_name = {target.name: target for target in existing}
    resolved = []
    for target in incoming:
        headers = dict(target.headers)
        for header, value in target.headers.items():
            if value != MASKED_VALUE:
                continue
            known = by_name.get(target.name)
            if known is None or header not in known.headers:
                raise TargetsFileError(
                    _(
                        "{path}: target {name!r}: field headers.{header}: the value is masked;"
                        " export with --with-secrets or write the real value"
                    ).format(path=source, name=target.name, header=header)
                )
            headers[header] = known.headers[header]
        resolved.append(target.model_copy(update={"headers": headers}))
    return resolved


def plan_import(incoming: Sequence[Target], existing: Sequence[Target]) -> list[TargetChange]:
    """Return what importing `incoming` does to each of its targets, in file order."""
    by_name = {target.name: target for target in existing}
    changes = []
    for target in incoming:
        known = by_name.get(target.name)
        if known is None:
            changes.append(TargetChange(target.name, ChangeKind.ADD))
            continue
        fields = changed_fields(known, target)
        kind = ChangeKind.UPDATE if fields else ChangeKind.UNCHANGED
        changes.append(TargetChange(target.name, kind, fields))
    return changes
