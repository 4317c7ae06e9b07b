"""`cqs`: the one command-line entry point for every operational task.

`cqs init`, `cqs serve`, `cqs demo`, `cqs user add`, `cqs token create`, `cqs catalog load`,
`cqs calendar due|explain`, `cqs audit verify`, and every Django management command
(`cqs migrate`, `cqs shell`, …).
"""

import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chinhquyenso.settings")
    from django.conf import settings
    from django.core.management import execute_from_command_line

    # The working folder (the SQLite database by default, the sandbox's, demo keys): made here,
    # by the operator's command, not when the settings are imported.
    try:
        Path(getattr(settings, "VAR_DIR", "var")).mkdir(parents=True, exist_ok=True)
    except OSError:
        pass  # read-only: whatever needs it says so when it writes

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "cqs"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
