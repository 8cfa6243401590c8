"""Command-line interface: ``smt query``, ``smt compare``, ``smt admin``."""
