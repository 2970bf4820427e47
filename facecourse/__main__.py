"""`python -m facecourse <command>`: train, eval, export-onnx, verify, search, course, book, exercises."""
from __future__ import annotations

import importlib
import sys

# command -> (module, function); each module owns its own argument parser.
COMMANDS = {
    "train": ("facecourse.train.cli", "main"),
    "export-onnx": ("facecourse.train.cli", "export_onnx_main"),
    "eval": ("facecourse.eval.cli", "main"),
    "verify": ("facecourse.apps.verify", "main"),
    "search": ("facecourse.apps.search", "main"),
    "course": ("facecourse.course.run", "course_main"),
    "book": ("facecourse.course.book", "book_main"),
    "exercises": ("facecourse.course.exercises", "exercises_main"),
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        names = ", ".join(COMMANDS)
        print(f"usage: python -m facecourse {{{names}}} [options]", file=sys.stderr)
        if argv and argv[0] not in ("-h", "--help"):
            print(f"error: unknown command {argv[0]!r}; choose one of: {names}", file=sys.stderr)
            return 2
        return 0
    module, func = COMMANDS[argv[0]]
    return int(getattr(importlib.import_module(module), func)(argv[1:]) or 0)


if __name__ == "__main__":
    code = main()
    if "torch" in sys.modules:  # a torchrun worker must skip the teardown (see exit_process)
        from facecourse.train.distributed import exit_process
        exit_process(code)
    sys.exit(code)
