"""Checks that a sockspec run leaves no process and no temp file behind, both when it ends
normally and when it is interrupted with SIGINT while a case is blocked.

usage: check_no_leftovers.py SOCKSPEC EXAMPLES

Every process of the run inherits TMPDIR from here; a private TMPDIR marks them, so the
check can find any survivor in /proc and any file left in the temp dir.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

sockspec, examples = sys.argv[1], sys.argv[2]
marked_tmp = tempfile.mkdtemp(prefix="sockspec-leftovers.")
report = tempfile.mkdtemp(prefix="sockspec-leftovers-report.")
env = dict(os.environ, TMPDIR=marked_tmp)
marker = f"TMPDIR={marked_tmp}".encode()


def marked_processes():
    """pid -> command line of every process that carries the marker."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    with open(f"/proc/{pid}/cmdline", "rb") as c:
                        found[int(pid)] = c.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            pass
    return found


def fail(why):
    for pid in marked_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(f"check_no_leftovers: {why}")


def check_clean(after):
    if marked_processes():
        fail(f"processes survived {after}: {marked_processes()}")
    if os.listdir(marked_tmp):
        fail(f"files left in TMPDIR {after}: {os.listdir(marked_tmp)}")


def run(filter_, *extra):
    return subprocess.Popen([sockspec, "run", "--suite", examples, "--filter", filter_, "--cases", "", "--trace", "never",
                             "--report", report, *extra], env=env, stdout=subprocess.DEVNULL)


# 1. A normal run whose peer forks a process that leaves the case's process group.
status = run("Examples.PeerLeftRunning").wait(timeout=60)
if status != 0:
    fail(f"the run exited with {status}, expected 0")
check_clean("a normal run")

# 2. SIGINT while one case is blocked in accept() and others wait their turn.
runner = run("Examples.HangsInAccept:Examples.PeerLeftRunning", "--timeout", "60", "-j", "1")
deadline = time.monotonic() + 20
while not any("--gtest_filter=Examples.HangsInAccept" in cmd for cmd in marked_processes().values()):
    if time.monotonic() > deadline:
        runner.kill()
        fail("the blocked case never started")
    time.sleep(0.01)  # polling for the case to appear; it does not order anything
runner.send_signal(signal.SIGINT)
try:
    status = runner.wait(timeout=20)
except subprocess.TimeoutExpired:
    runner.kill()
    fail("the runner did not stop within 20 s of SIGINT")
if status != 130:
    fail(f"the interrupted run exited with {status}, expected 130")
check_clean("an interrupted run")
os.rmdir(marked_tmp)
print("no process and no temp file left behind")
