"""`python -m broker ...` is `gatehouse ...`, for an environment without the script."""

from broker.cli import main

main()
