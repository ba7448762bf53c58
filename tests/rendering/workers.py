"""Work functions for the crash-isolation tests (module level, so spawned workers can import them)."""

import os
import time


def echo_or_crash(task):
    if task == "abort":
        os.abort()  # what a Verovio C++ assertion does to the whole process
    if task == "hang":
        time.sleep(60)
    if task == "raise":
        raise ValueError("bad piece")
    return task * 2
