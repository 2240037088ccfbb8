"""``python -m stswidgets``: the ``stswidgets`` command line (see :mod:`stswidgets.cli`)."""

from stswidgets.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
