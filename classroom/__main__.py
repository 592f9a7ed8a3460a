"""python -m classroom <command> [options]: the instructor's tools beside `pulumi`.

Each command lives in its own module, which adds its sub-parser in
``register(subparsers)`` and sets ``func`` (arguments -> exit code). The parser
is :class:`classroom.arguments.ArgumentParser`: one-line usage errors (exit code 2)
and every option's default in its help.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from classroom.arguments import ArgumentParser
from classroom.signin import quiet_identity_logging

SUBCOMMANDS = (
    "classroom.planning.plan",
    "classroom.planning.update_prices",
    "classroom.checking.status",
    "classroom.checking.progress",
    "classroom.checking.handout",
    "classroom.checking.preflight",
    "classroom.running.sections",
    "classroom.running.driver",
    "classroom.running.expiry",
    "classroom.running.repair",
    "classroom.running.pause",
)


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m classroom", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(name).register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # azure-identity logs each failed sign-in method of its chain: only with --verbose.
    quiet_identity_logging(getattr(args, "verbose", False))
    return args.func(args)


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()  # here, not at exit, where a closed pipe could only be reported
    except BrokenPipeError:
        # `python -m classroom plan | head`: the reader left; end quietly, as the Python docs
        # advise (signal module, "Note on SIGPIPE"), without a traceback at exit either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        # Nothing is left to write, so skip the interpreter's teardown: there the mock engine's
        # event loop (plan) can be collected half-closed and print "Exception ignored in
        # BaseEventLoop.__del__ ... Invalid file descriptor" to stderr (seen under load).
        sys.stderr.flush()
        os._exit(1)
    sys.exit(code)
