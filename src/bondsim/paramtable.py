"""List every model parameter with its unit, default, allowed values and meaning."""

from __future__ import annotations

import argparse

from .params import describe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim params``."""
    parser.add_argument("--markdown", action="store_true", help="print a markdown table (as in docs/model.md)")


def command(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    rows = describe()
    if args.markdown:
        print("| name | default | unit | allowed | meaning |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| `{r['name']}` | {r['default']!r} | {r['unit']} | {r['allowed']} | {r['meaning']} |")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['default']!r:<14} {r['unit']:<12} {r['allowed']:<40} {r['meaning']}")
    return 0
