"""Sphinx configuration for smt-query."""
project = "smt-query"
author = "smt-query developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
