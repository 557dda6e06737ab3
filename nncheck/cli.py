"""The `nncheck` command line.

Exit codes (SPEC.md): 0 no check failed, 1 a check failed (or warned, with --fail-on warn),
2 the recipe or the data could not be used — one clear message, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
import warnings

from nncheck import __version__
from nncheck.errors import UsageError

EPILOG = """\
examples:
  nncheck run recipes/wine.yaml                  audit the bundled wine example
  nncheck run recipe.yaml --fail-on warn --quiet  gate CI on warnings too
  nncheck run recipe.yaml --only data             run one stage (or check ids)
  nncheck run recipe.yaml --skip overfit.one_batch
  nncheck checks                                 list every check and its thresholds
  nncheck init data/my_table.csv                 write a starter recipe for a data file
  nncheck init data/titanic.csv --target Survived   ... naming the column to predict
  nncheck diff reports/main reports/branch       what got worse since the audit on main

exit codes: 0 no check failed, 1 a check failed, 2 the recipe or data could not be used,
  130 / 143 interrupted (Ctrl-C / SIGTERM; the message says whether the report was written)
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nncheck",
        description="Audit a neural-network training setup before anyone trains it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"nncheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the checks of a recipe and write the report",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("recipe", help="recipe YAML file")
    run.add_argument(
        "--fail-on",
        choices=["fail", "warn"],
        default="fail",
        help="exit 1 on failures only (default) or on warnings too",
    )
    run.add_argument(
        "--only", nargs="+", default=[], metavar="ID", help="run only these check ids or stages"
    )
    run.add_argument(
        "--skip", nargs="+", default=[], metavar="ID", help="skip these check ids or stages"
    )
    run.add_argument("--report-dir", help="write the report here instead of report.dir")
    run.add_argument(
        "--dask",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="stream the data stage as Dask tasks (data.engine: dask): on the scheduler at"
        " ADDRESS, else $NNCHECK_DASK_SCHEDULER, else a local cluster of 2 workers",
    )
    run.add_argument(
        "--quiet", action="store_true", help="print only the failures and the verdict line"
    )

    checks = sub.add_parser("checks", help="list every check, what it catches and its defaults")
    checks.add_argument("--verbose", "-v", action="store_true", help="show each check's docs")
    checks.add_argument(
        "--markdown", action="store_true", help="print README's check table (Markdown)"
    )

    diff = sub.add_parser(
        "diff",
        help="compare two audits (Markdown); exit 1 when something got worse",
        description="Compare two audits: checks whose status changed, metrics that moved "
        "beyond their uncertainty, new suspects. Prints Markdown (for a CI job summary); "
        "exit 1 when something got worse, 0 otherwise, 2 when an audit cannot be read.",
    )
    diff.add_argument("old", help="the earlier audit: a report folder or its results.json")
    diff.add_argument("new", help="the later audit: a report folder or its results.json")
    diff.add_argument(
        "-o", "--output", help="also append the Markdown to this file ($GITHUB_STEP_SUMMARY)"
    )

    init = sub.add_parser("init", help="write a starter recipe for a data file")
    init.add_argument("data_file", help="csv, parquet, npz, npy or MNIST IDX images file")
    init.add_argument("-o", "--output", help="recipe path (default: <data name>.yaml here)")
    init.add_argument(
        "--target",
        metavar="COLUMN",
        help="the column to predict (default: guessed, and said); several, comma-separated"
        " (--target even,prime), make a multilabel recipe of those 0/1 columns",
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing recipe")
    return parser


def main(argv: list[str] | None = None) -> int:
    from nncheck.interrupts import interrupts_raise

    # From here on SIGTERM is handled like Ctrl-C: cleanup runs and the exit code says so.
    with interrupts_raise(), warnings.catch_warnings():
        _quiet_known_warnings()
        return _main(argv)


def _quiet_known_warnings() -> None:
    """numpy's notes on all-NaN or empty columns, and matplotlib's on control characters
    in a label, say nothing a user can act on: the checks report those columns by name
    (data.integrity), so on a terminal they are only noise between the verdicts."""
    for message in ("All-NaN slice", "Mean of empty slice", "Degrees of freedom <= 0"):
        warnings.filterwarnings("ignore", message=message, category=RuntimeWarning)
    warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "run":
            from nncheck.run import RunOptions, run_recipe

            run, _ = run_recipe(
                args.recipe,
                RunOptions(
                    only=args.only,
                    skip=args.skip,
                    fail_on=args.fail_on,
                    report_dir=args.report_dir,
                    quiet=args.quiet,
                    dask=args.dask,
                ),
            )
            return run.exit_code
        if args.command == "checks":
            from nncheck.list_checks import print_checks

            print_checks(verbose=args.verbose, markdown=args.markdown)
            return 0
        if args.command == "diff":
            from nncheck.diff import diff

            return diff(args.old, args.new, args.output)
        if args.command == "init":
            from nncheck.init_recipe import init_recipe

            path = init_recipe(args.data_file, args.output, force=args.force, target=args.target)
            print(f"wrote {path}; run it with: nncheck run {path}")
            return 0
        parser.print_help()
        return 2
    except UsageError as exc:
        print(f"nncheck: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:
        written = getattr(exc, "report_dir", None)
        said = f"the report was written to {written}" if written else "no report was written"
        print(f"nncheck: interrupted; {said}", file=sys.stderr)
        return int(getattr(exc, "exit_code", 130))


def entry() -> None:
    code = main()
    # The run is over and has said so: a signal during interpreter shutdown (threads of
    # tensorboardX or torch winding down) must not turn a finished run into a crash.
    from nncheck.interrupts import ignore_interrupts

    ignore_interrupts()
    sys.exit(code)


if __name__ == "__main__":
    entry()
