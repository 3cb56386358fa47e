"""Sealpost benchmark kit: load generator, recording sink, relay setup, report.

Entry point: bench/run (see docs/benchmarks.md). Runs with Debian's /usr/bin/python3
and the standard library only, so it works on a fresh machine after scripts/install-deps.
"""
