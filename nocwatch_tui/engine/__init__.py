"""The engine: targets, prober, scheduler, store and statistics.

Nothing in this package imports Textual, so that the engine can run in its
own process and rendering never delays a probe.
"""
