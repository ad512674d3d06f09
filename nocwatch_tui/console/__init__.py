"""The Textual console: it reads the engine's database and never probes itself."""
