"""What every `python -m classroom` command line shares: its errors, its help, its value types.

An argument that is wrong is one line on stderr, ``python -m classroom plan: error:
argument --hours: ...`` with what to do, and exit code 2 (argparse's own code for a
usage error, and the tools' code for "nothing ran"), never a traceback or the usage
block. Every option's help shows its default. The value types check what they can
before any command signs in or reads a file: a GUID, a time of day, a positive number.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from typing import NoReturn

from lab.config import GUID_RE

# Defaults that say nothing worth printing: an option left out is off or unset, and its
# help says what happens then.
_SILENT_DEFAULTS = (None, False, [], argparse.SUPPRESS)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that ends with ``(default: X)`` where the default is a value and the help omits it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.option_strings
            and action.nargs != 0
            and not any(action.default is d or action.default == d for d in _SILENT_DEFAULTS)
            and "default" not in text
        ):
            text += " (default: %(default)s)"
        return text


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors: the command, what is wrong, where to look."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see `{self.prog} --help`)", file=sys.stderr)
        sys.exit(2)


def guid(text: str) -> str:
    """An Azure id (subscription, tenant, object id): a GUID, lowercased as Azure returns it."""
    if not GUID_RE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a GUID like 00000000-0000-0000-0000-000000000000 "
            "(`az account show --query id -o tsv` prints your subscription's)"
        )
    return text.strip().lower()


CLOCK_RE = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


def clock(text: str) -> str:
    """A time of day HH:MM on the 24-hour clock, 00:00 to 23:59."""
    if not CLOCK_RE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time HH:MM on the 24-hour clock (00:00 to 23:59, e.g. 17:00)"
        )
    return text.strip()


def positive(text: str) -> float:
    """A number above 0 (hours, days)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number above 0")
    return value
