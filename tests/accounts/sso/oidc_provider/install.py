"""Install the test OpenID Provider's Node.js packages into var/oidc-provider-node (``npm ci``, ~10 s), again
only when package-lock.json changes. Run by ``make test`` beside the lint, and by the SSO tests if needed.

Standard library only: ``python tests/accounts/sso/oidc_provider/install.py``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE.parents[3] / "var" / "oidc-provider-node"


class NodeMissing(RuntimeError):
    pass


def install(target: Path = TARGET) -> Path:
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise NodeMissing("The SSO tests run a real OpenID Provider on Node.js: install Node.js 18 or later.")
    digest = hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()
    stamp = target / ".installed"
    if not (stamp.exists() and stamp.read_text() == digest):
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(HERE / name, target / name)
        command = ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=target, check=True, timeout=300)
        stamp.write_text(digest)
    shutil.copy(HERE / "server.mjs", target / "server.mjs")
    return target


if __name__ == "__main__":
    try:
        print(f"[attest] test OpenID Provider ready in {install()}")
    except NodeMissing as missing:  # the SSO tests say so too; the rest of the suite runs
        print(f"[attest] {missing}")
    except subprocess.CalledProcessError as failed:
        sys.exit(f"[attest] npm ci failed for the test OpenID Provider: {failed}")
