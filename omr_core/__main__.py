import sys

from omr_core.cli import main
from omr_core.jobs import exit_record, record_exit

if __name__ == "__main__":  # worker processes (spawn) import this module again: they must not run the CLI
    returncode_file = exit_record()
    code = 1  # an exception escaping main: Python exits with 1
    try:
        code = main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        raise
    finally:
        record_exit(returncode_file, code)  # a background job's exit code, even when its wrapper was killed
    sys.exit(code)
