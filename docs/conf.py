"""Sphinx configuration for smt-query."""
project = "smt-query"
author = "smt-query developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_nb"]
# tutorial.ipynb is stored without outputs and runs at every build; its first cell
# builds the demo project (in the temporary directory it runs in).
nb_execution_mode = "force"
nb_execution_in_temp = True
nb_execution_timeout = 600
nb_execution_raise_on_error = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
