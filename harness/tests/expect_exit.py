"""Runs a command and checks its exit status: expect_exit.py STATUS COMMAND...

lit's `not` only knows "failed"; sockspec's statuses mean different things (1: a case
failed, 2: usage or environment error, 130: interrupted), so the tests check them exactly.
Output passes through unchanged for FileCheck.
"""
import subprocess
import sys

expected = int(sys.argv[1])
status = subprocess.call(sys.argv[2:])
if status != expected:
    sys.stderr.write(f"expect_exit: {sys.argv[2:]} exited with {status}, expected {expected}\n")
    sys.exit(1)
