"""dlgrade's exercises as nbgrader assignments.

* :mod:`grader.nbgrader.build` writes an nbgrader course directory (``nbgrader_config.py`` and one
  source notebook per exercise) from the exercise registry, ``solutions/`` and the jinja2 templates
  in ``grader/templates/nbgrader/`` (``dlgrade nbgrader build``).
* :mod:`grader.nbgrader.autograde` is ``dlgrade nbgrader autograde``: nbgrader's autograde
  converter with dlgrade's isolated runner in place of the Jupyter kernel (the default path);
* :mod:`grader.nbgrader.runtime` is what the generated test cells import inside the student's
  kernel: it hands the saved notebook to ``dlgrade check`` in a separate process and turns the
  verdict of one check into a pass or an ``AssertionError`` carrying dlgrade's message.

This package module imports nothing heavy: the test cells import :mod:`grader.nbgrader.runtime`
in the student's kernel, which must stay fast and free of the grader's dependencies.
"""
