"""A target's effective degradation thresholds: its own overrides over the global ones."""

from nocwatch_tui.engine.settings import ThresholdSettings
from nocwatch_tui.engine.targets import Target


def effective_thresholds(target: Target, defaults: ThresholdSettings) -> ThresholdSettings:
    """Return the global thresholds with every field the target overrides replaced."""
    overrides = target.thresholds.model_dump(exclude_none=True)
    return defaults.model_copy(update=overrides)
