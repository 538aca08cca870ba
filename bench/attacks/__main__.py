"""`python -m bench.attacks`: see bench/attacks/run.py."""

from bench.attacks.run import main

main()
