"""`python -m brisk.cli`: the same as the `brisk` console script."""

from brisk.cli import main

main()
