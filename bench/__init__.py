"""Benchmarks run by `make bench`: figures to quote when someone asks whether the engine is fast and right.

Each section lives in its own module and is listed in `bench.__main__`; they are not tests, because their
numbers depend on the machine, but each prints its inputs and seed so a figure can be reproduced.
"""
