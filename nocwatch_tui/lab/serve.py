"""Running the lab alone, for `nocwatch lab`."""

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Literal, TextIO

from nocwatch_tui.lab.lab import Lab


async def serve_lab(
    names: Sequence[str],
    output: TextIO,
    fmt: Literal["text", "json"],
    *,
    flap_period_s: float = 60.0,
    ca_file: Path | None = None,
) -> None:
    """Start a lab, print its URLs to `output`, then serve until cancelled and stop the lab.

    With `ca_file`, the certificate of the lab's authority is written there, so that
    other clients can trust the TLS servers.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"unknown output format {fmt!r}; valid formats: text, json")

    async with Lab(names, flap_period_s=flap_period_s) as lab:
        if ca_file is not None and lab.ca_pem is not None:
            ca_file.write_bytes(lab.ca_pem)
        output.write(format_urls(lab.urls, fmt))
        output.flush()
        await asyncio.Event().wait()


def format_urls(urls: dict[str, str], fmt: Literal["text", "json"]) -> str:
    """Render the URLs as aligned `name  url` lines, or as one JSON object on one line."""
    if fmt == "json":
        return json.dumps(urls) + "\n"

    width = max((len(name) for name in urls), default=0)
    return "".join(f"{name:<{width}}  {url}\n" for name, url in urls.items())
