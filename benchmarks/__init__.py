"""Benchmarks: plain pytest, run by `make bench`; they print their numbers (`-s`)."""
