"""The `conformance` command, as `python -m conformance` and as the installed script.

Interrupts are held before the rest of the suite is imported (`conformance.interrupts`): only one
during the interpreter's own start-up, or while this package's two tiny modules load, is not caught.
"""

import gc
import sys

from . import interrupts


def main() -> int:
    interrupts.defer()
    from .cli import main as run_command  # imported with interrupts held

    code = run_command()
    # Everything is written.  The interpreter's last garbage collection would walk every object
    # a run leaves (a run's exchanges, the SDK's and Hypothesis' modules): ~0.2 s of a default
    # run's wall time for nothing.  Frozen objects are left to the process's exit (atexit
    # handlers still run).
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(main())
