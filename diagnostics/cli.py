"""The ``authz-diag`` command line.  Argument parsing only; work lives in library modules."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from diagnostics import __version__
from diagnostics.commands import COMMANDS
from diagnostics.errors import DiagnosticsError


class _Version(argparse.Action):
    """``--version``: the version, and which compiled matcher and inflater a scan uses."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        # Looked up only when asked: find_spec, no import of the libraries themselves.
        from diagnostics.extract.inputs.gunzip import available as inflater
        from diagnostics.extract.inputs.marker_backends import available as matcher

        print(f"authz-diag {__version__} (markers: {matcher()}, gunzip: {inflater()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="authz-diag",
        description="Find, decode and explain AWS authorization failures in logs.",
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log more to stderr (-v warnings, -vv info, -vvv debug)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"diagnostics.commands.{name}")
        module.register(sub)
    return parser


def _take_leftovers(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extras: list[str]
) -> None:
    """Positionals after an option go to the command's list; anything else is an error.

    argparse stops filling ``rules test DIR...`` at ``--only``, and reports an
    unknown option with the top-level usage; both are the subcommand's business.
    """
    if not extras:
        return
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    command = sub.choices[args.command]
    trailing = getattr(args, "trailing", None)
    if trailing and not any(e.startswith("-") for e in extras):
        action = next(a for a in command._actions if a.dest == trailing)
        convert = action.type if callable(action.type) else str
        getattr(args, trailing).extend(convert(e) for e in extras)
        return
    command.error(f"unrecognized arguments: {' '.join(extras)}")


def main(argv: Sequence[str] | None = None) -> int:
    from diagnostics.commands.decode import protect_leading_dash

    parser = build_parser()
    args, extras = parser.parse_known_args(
        protect_leading_dash(list(sys.argv[1:] if argv is None else argv))
    )
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _take_leftovers(parser, args, extras)
    if args.command != "watch":  # watch writes JSON logs for the journal itself
        from diagnostics.support.logconfig import configure_cli_logging

        configure_cli_logging(args.verbose)
    try:
        status: int = args.run(args)
    except DiagnosticsError as exc:
        from diagnostics.text.safe import line

        # Errors quote file names and input: one escaped line.
        print(f"authz-diag {args.command}: {line(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `authz-diag scan big.log | head` must not print a traceback.
        sys.stderr.close()
        return 0
    return status
