"""List every model parameter with its unit, default, allowed values, meaning, status and source."""

from __future__ import annotations

import argparse

from .params import describe, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim params``."""
    parser.add_argument("--markdown", action="store_true", help="print a markdown table (as in docs/model.md)")
    parser.add_argument("--config", metavar="FILE", help="also list the parameters of the mechanisms a config adds")


def command(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    params = load(args.config) if args.config else None
    if params is not None:
        from .model import check_model

        check_model(params)  # a config whose mechanisms do not fit together is refused here too
    rows = describe(params)
    if args.markdown:
        print("| name | default | unit | allowed | meaning | status | source or reasoning |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| `{r['name']}` | {r['default']!r} | {r['unit']} | {r['allowed']} | {r['meaning']} "
                f"| {r['status']} | {r['source']} |"
            )
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(
            f"{r['name']:<{width}}  {r['default']!r:<14} {r['unit']:<12} {r['allowed']:<40} {r['status']:<10} "
            f"{r['meaning']}"
        )
    return 0
