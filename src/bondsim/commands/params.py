"""List every model parameter with its unit, default, allowed values, meaning, status and source."""

from __future__ import annotations

import argparse

from ..params import describe, load


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``bondsim params``."""
    parser.add_argument("--markdown", action="store_true", help="print a markdown table (as in docs/model.md)")
    parser.add_argument("--config", metavar="FILE", help="also list the parameters of the mechanisms a config adds")


def command(args: argparse.Namespace) -> int:
    """Print the parameter table."""
    params = load(args.config) if args.config else None
    if params is not None:
        from ..model import check_model

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
    columns = [("name", str), ("default", repr), ("unit", str), ("allowed", str), ("status", str)]
    cells = [[show(r[key]) for key, show in columns] + [r["meaning"]] for r in rows]
    widths = [max(len(row[k]) for row in cells) for k in range(len(columns))]
    for row in cells:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])
    return 0
