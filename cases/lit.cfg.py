# lit runs every scripted case (*.case) with `sockspec script`. A case needs no RUN line:
# the format below knows how to run it. The features a case may name in `# REQUIRES:` or
# `# UNSUPPORTED:` are those `sockspec features` prints, the same list the interpreter checks
# a script's REQUIRES against, so lit and sockspec cannot disagree about this machine.
import os
import subprocess
import sys

# The format lives in a module of its own: lit's worker processes must be able to import it.
sys.path.insert(0, os.path.dirname(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from scripted_case_format import ScriptedCase  # noqa: E402


config.name = "sockspec-cases"
config.test_format = ScriptedCase()
config.suffixes = [".case"]
config.test_source_root = os.path.dirname(__file__)
# Each case's report lands under the exec root; `-D exec_root=DIR` moves them, so two lit runs
# at once (the project's own tests do this) do not write over each other's reports.
config.test_exec_root = lit_config.params.get("exec_root", os.path.join(config.build_dir, "cases"))
config.sockspec = os.path.join(config.build_dir, "sockspec")
config.environment["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")

# `lit -D target=gvisor build/cases` runs the cases on that target: `sockspec script --target`,
# with the features `sockspec features --target` gives (the target's name among them, so
# `UNSUPPORTED: gvisor` means what it says).
config.sockspec_target = lit_config.params.get("target", "native")
# `lit -D preload=LIB build/cases` loads LIB into every actor (`sockspec script --preload`): a
# C library under test, or a deviation shim to see which cases catch it.
config.sockspec_preload = lit_config.params.get("preload")
if config.sockspec_preload and not os.path.isfile(config.sockspec_preload):
    lit_config.fatal(f"-D preload={config.sockspec_preload}: no such file; give the path of a "
                     "shared library")
features = subprocess.run([config.sockspec, "features", "--target", config.sockspec_target],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
if features.returncode != 0:
    lit_config.fatal(f"`{config.sockspec} features` failed: {features.stderr.strip()}; run ci/bootstrap")
for line in features.stdout.splitlines():
    if line and not line.startswith("#"):  # "# name: why" lines say what is missing
        config.available_features.add(line)
