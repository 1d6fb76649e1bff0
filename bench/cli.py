"""What every benchmark's command line has: its module's docstring as help, and --out, the results folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from medledger_tools.paths import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results"


def parser(doc: str | None) -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    made.add_argument("--out", type=Path, default=RESULTS, help="where the results are written")
    return made
