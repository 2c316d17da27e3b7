"""Check the system libraries WeasyPrint needs before installing anything (stdlib only).

Run by `make run` and `make test`; exits 1 with the packages to install when one is missing.
"""

from __future__ import annotations

import ctypes.util
import shutil
import subprocess
import sys

# (shared library name, what it is, Debian/Ubuntu package)
LIBRARIES = [
    ("pango-1.0", "Pango", "libpango-1.0-0"),
    ("pangoft2-1.0", "PangoFT2", "libpangoft2-1.0-0"),
    ("harfbuzz", "HarfBuzz", "libharfbuzz0b"),
    ("fontconfig", "fontconfig", "libfontconfig1"),
]


def missing_libraries() -> list[tuple[str, str]]:
    return [(label, package) for name, label, package in LIBRARIES if ctypes.util.find_library(name) is None]


def has_a_font() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    result = subprocess.run([fc_list, ":", "family"], capture_output=True, text=True, check=False, timeout=30)
    return bool(result.stdout.strip())


def main() -> int:
    problems = missing_libraries()
    if not has_a_font():
        problems.append(("a font (e.g. DejaVu) and fc-list", "fonts-dejavu-core fontconfig"))
    if not problems:
        return 0
    packages = " ".join(sorted({package for _, package in problems}))
    print(
        "Attest renders PDF reports with WeasyPrint, which needs system libraries that are missing:",
        file=sys.stderr,
    )
    for label, package in problems:
        print(f"  - {label} (Debian/Ubuntu package: {package})", file=sys.stderr)
    print(f"\nInstall them, e.g.:  sudo apt-get install -y {packages}", file=sys.stderr)
    print("(macOS: brew install pango; other systems: see README.md, 'System libraries')", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
