"""Sphinx configuration for smt-query."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))
project = "smt-query"
author = "smt-query developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "myst_nb",
              "smtq_filters"]   # the filter reference (docs/_ext), from the registry
# tutorial.ipynb is stored without outputs and runs at every build; its first cell
# builds the demo project (in the temporary directory it runs in).
nb_execution_mode = "force"
nb_execution_in_temp = True
nb_execution_timeout = 600
nb_execution_raise_on_error = True
exclude_patterns = ["_build"]
html_theme = "alabaster"
