"""Course tooling, not library code: running the lessons, the exercise copies, the lessons' report.

- `run.py`: `python -m facecourse course` (`make course`) runs every notebook of ``solutions/``
  with papermill into ``runs/<timestamp>/`` (`run_notebook`, `run_course`).
- `engine.py`: the papermill engine ``--engine facecourse`` (a kernel client that never loses a
  widget cell's reply); imported only when a notebook runs.
- `exercises.py`: `python -m facecourse exercises` (`make exercises`) writes ``notebooks/`` from
  ``solutions/``; `check` for the check cells.
- `book.py`: `python -m facecourse book` (`make book`, and the end of every `make course`)
  writes a run's executed notebooks as an HTML site in ``runs/<timestamp>/book/``.
- `reporting.py`: `report` and `claim`, what every lesson publishes and asserts.

`facecourse.check`, `facecourse.claim` and `facecourse.report` are these, re-exported flat.
"""
from .book import book_main, build_book, latest_run
from .exercises import REPO, ExerciseError, check, generate, make_exercise
from .reporting import REPORTED, claim, load_report, report
from .run import course_main, run_course, run_notebook

__all__ = ["run_notebook", "run_course", "course_main", "make_exercise", "generate", "check",
           "ExerciseError", "REPO", "build_book", "latest_run", "book_main", "report", "claim", "REPORTED", "load_report"]
