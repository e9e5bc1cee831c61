"""The `conformance` command, as `python -m conformance` and as the installed script.

Interrupts are held before the rest of the suite is imported (`conformance.interrupts`): only one
during the interpreter's own start-up, or while this package's two tiny modules load, is not caught.
"""

import sys

from . import interrupts


def main() -> int:
    interrupts.defer()
    from .cli import main as run_command  # imported with interrupts held

    return run_command()


if __name__ == "__main__":
    sys.exit(main())
