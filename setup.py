"""Setup script: everything declarative lives in setup.cfg.

The only code here installs ``smt_query.pth`` into site-packages (the way
pytest-cov shipped its start-up file), for regular and editable installs, so
that ``smt`` learns the commands declared under ``sumatra.commands``.
"""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "smt_query.pth"
HERE = os.path.dirname(os.path.abspath(__file__))


class BuildPyWithPth(build_py):
    """Put the start-up ``.pth`` file at the top of the wheel."""

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, PTH), os.path.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, PTH)]


cmdclass = {"build_py": BuildPyWithPth}

try:
    from setuptools.command.editable_wheel import editable_wheel
except ImportError:  # setuptools < 64: ``develop`` has no .pth support here
    pass
else:
    class _WithPth:
        """Wraps an editable strategy so the wheel also carries the ``.pth``."""

        def __init__(self, strategy):
            self.strategy = strategy

        def __call__(self, wheel, files, mapping):
            self.strategy(wheel, files, mapping)
            with open(os.path.join(HERE, PTH)) as f:
                wheel.writestr(PTH, f.read())

        def __enter__(self):
            self.strategy.__enter__()
            return self

        def __exit__(self, *exc):
            return self.strategy.__exit__(*exc)

    class EditableWheelWithPth(editable_wheel):
        def _select_strategy(self, *args, **kwargs):
            return _WithPth(super()._select_strategy(*args, **kwargs))

    cmdclass["editable_wheel"] = EditableWheelWithPth

setup(cmdclass=cmdclass)
