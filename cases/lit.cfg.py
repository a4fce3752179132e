# lit runs every scripted case (*.case) with `sockspec script`. A case needs no RUN line:
# the format below knows how to run it. Features describe this machine, so a case can say
# `# REQUIRES: root`, `# UNSUPPORTED: gvisor` or `# XFAIL: qemu`.
import os
import platform

import sys

# The format lives in a module of its own: lit's worker processes must be able to import it.
sys.path.insert(0, os.path.dirname(__file__))
from scripted_case_format import ScriptedCase  # noqa: E402


config.name = "sockspec-cases"
config.test_format = ScriptedCase()
config.suffixes = [".case"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.build_dir, "cases")
config.sockspec = os.path.join(config.build_dir, "sockspec")
config.environment["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")

# What this machine is: the kernel, who runs, and which tools are installed.
release = platform.release()
major, minor = (int(part) for part in release.split(".")[:2])
config.available_features.add("linux")
config.available_features.add(f"linux-{major}")
if (major, minor) >= (5, 15):
    config.available_features.add("af-unix-oob")  # MSG_OOB on AF_UNIX stream sockets
config.available_features.add("root" if os.geteuid() == 0 else "nonroot")
if os.access("/usr/bin/linux", os.X_OK):
    config.available_features.add("uml")
if os.path.exists("/dev/fuse") and os.access("/usr/bin/bindfs", os.X_OK):
    config.available_features.add("fuse")
if os.access("/usr/bin/strace", os.X_OK):
    config.available_features.add("strace")
