"""Checks that a sockspec run leaves no process, no file and no mount behind: after a normal
run, after a hang verdict, after a deadline, and when it is stopped by SIGINT, SIGTERM,
SIGHUP, two quick SIGINTs, or its output being closed (SIGPIPE, as under `| head`) while its
cases are at their slowest: blocked for ever, one with a peer, one with a helper program in a
session of its own.

usage: check_no_leftovers.py SOCKSPEC EXAMPLES

Every process of the run inherits the variable LEFTOVERS_CHECK from here, which marks them
in /proc; the runner's run dir is made in a private TMPDIR, where any file left shows.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

sockspec, examples = sys.argv[1], sys.argv[2]
marked_tmp = tempfile.mkdtemp(prefix="sockspec-leftovers.")
report = tempfile.mkdtemp(prefix="sockspec-leftovers-report.")
env = dict(os.environ, TMPDIR=marked_tmp, LEFTOVERS_CHECK=marked_tmp)
marker = f"LEFTOVERS_CHECK={marked_tmp}".encode()
SLOW = "Examples.HangsInAccept:Examples.PeerHangsInRecv:Examples.LeavesAHelperAndHangs"


def read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError:
        return b"" if "b" in mode else ""


def marked_processes():
    """pid -> (name, syscall line) of every process that carries the marker."""
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        if marker in read(f"/proc/{pid}/environ", "rb").split(b"\0"):
            found[int(pid)] = (read(f"/proc/{pid}/comm").strip(), read(f"/proc/{pid}/syscall").strip())
    return found


def fail(why):
    for pid in marked_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(f"check_no_leftovers: {why}")


def check_clean(after):
    deadline = time.monotonic() + 2  # zombies being reaped by init need a moment
    while marked_processes() and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for processes to disappear; it orders nothing
    if marked_processes():
        fail(f"processes survived {after}: {marked_processes()}")
    if os.listdir(marked_tmp):
        fail(f"files left in TMPDIR {after}: {os.listdir(marked_tmp)}")
    if marked_tmp in read("/proc/self/mountinfo"):
        fail(f"mounts left under TMPDIR {after}")


def run(case_filter, *extra):
    return subprocess.Popen([sockspec, "run", "--suite", examples, "--filter", case_filter, "--cases", "",
                             "--trace", "never", "--report", report, *extra],
                            env=env, stdout=subprocess.PIPE, text=True)


def finish(runner, expected, what):
    try:
        out, _ = runner.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        runner.kill()
        fail(f"{what}: the runner did not stop within 30 s")
    if runner.returncode != expected:
        fail(f"{what}: the run exited with {runner.returncode}, expected {expected}\n{out}")
    return out


def await_slow_cases(runner, what):
    """Waits until cat (the helper), the peer and three case processes of SLOW all exist."""
    deadline = time.monotonic() + 20
    while True:
        names = [name for name, _ in marked_processes().values()]
        if "cat" in names and "peer:reader" in names and names.count("sockspec-exampl") >= 3:
            return
        if time.monotonic() > deadline:
            runner.kill()
            fail(f"{what}: the slow cases never all started: {marked_processes()}")
        time.sleep(0.01)  # polling for the cases to appear; it orders nothing


# 1. A normal run whose peer forks a process that leaves the case's process group.
finish(run("Examples.PeerLeftRunning"), 0, "a normal run")
check_clean("a normal run")

# 2. A case with a helper in its own session ends by a hang verdict, then by its deadline.
finish(run("Examples.LeavesAHelperAndHangs"), 1, "a hang verdict")
check_clean("a hang verdict")
finish(run("Examples.LeavesAHelperAndHangs", "--hang-after", "0", "--timeout", "2"), 1, "a deadline")
check_clean("a deadline")

# 3. A stop signal while every slow case is blocked: cat (the helper) and the peer exist, and
#    three case processes are asleep.
for signals in ([signal.SIGINT], [signal.SIGTERM], [signal.SIGHUP], [signal.SIGINT, signal.SIGINT]):
    what = " then ".join(s.name for s in signals)
    runner = run(SLOW, "-j", "3", "--hang-after", "0", "--timeout", "60")
    await_slow_cases(runner, what)
    for sig in signals:
        runner.send_signal(sig)
    out = finish(runner, 128 + signals[0], what)
    if f"interrupted by {signals[0].name}" not in out or "INTERRUPTED Examples.HangsInAccept" not in out:
        fail(f"{what}: the summary does not say what was interrupted:\n{out}")
    with open(os.path.join(report, "results.json")) as f:
        results = json.load(f)
    if not results["interrupted"] or results["summary"]["interrupted"] != 3:
        fail(f"{what}: results.json does not mark the 3 running cases interrupted")
    check_clean(f"a run stopped by {what}")

# 4. The runner's output is closed while the slow cases block (`sockspec run | head`): its
#    next line, when their deadline comes, raises SIGPIPE, and it stops as if interrupted.
runner = run(SLOW, "-j", "3", "--hang-after", "0", "--timeout", "3")
await_slow_cases(runner, "closed output")
runner.stdout.close()
try:
    runner.wait(timeout=30)
except subprocess.TimeoutExpired:
    runner.kill()
    fail("closed output: the runner did not stop within 30 s")
if runner.returncode != 128 + signal.SIGPIPE:
    fail(f"closed output: the run exited with {runner.returncode}, expected {128 + signal.SIGPIPE}")
with open(os.path.join(report, "results.json")) as f:
    if not json.load(f)["interrupted"]:
        fail("closed output: results.json does not say the run was interrupted")
check_clean("a run whose output was closed")

os.rmdir(marked_tmp)
print("no process, no temp file and no mount left behind")
