"""Where ``attest login`` keeps the server and token: a 0600 JSON file in the user's config folder.
``ATTEST_URL`` and ``ATTEST_TOKEN`` override it (CI sets them as secrets and never logs in)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click


@dataclass
class Settings:
    url: str = ""
    token: str = ""


def config_path() -> Path:
    return Path(click.get_app_dir("attest")) / "config.json"


def load() -> Settings:
    stored = Settings()
    path = config_path()
    if path.exists():
        body = json.loads(path.read_text())
        stored = Settings(url=body.get("url", ""), token=body.get("token", ""))
    return Settings(
        url=os.environ.get("ATTEST_URL") or stored.url,
        token=os.environ.get("ATTEST_TOKEN") or stored.token,
    )


def save(settings: Settings) -> Path:
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # created 0600 before the token is written, so it is never readable by others, even briefly
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump({"url": settings.url, "token": settings.token}, out)
    path.chmod(0o600)  # an older file keeps its mode through O_TRUNC
    return path
