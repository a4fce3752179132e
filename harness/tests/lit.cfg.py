# lit configuration for the project's own tests: they run `sockspec` on cases that fail on
# purpose (sockspec-examples) and check what a user would see, with FileCheck.
import os
import lit.formats

config.name = "sockspec-selftest"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".test"]
config.excludes = ["Inputs"]  # files the tests read, not tests
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.build_dir, "harness", "tests")

config.substitutions.append(("%sockspec", os.path.join(config.build_dir, "sockspec")))
config.substitutions.append(("%examples", os.path.join(config.build_dir, "sockspec-examples")))
config.substitutions.append(("%suite", os.path.join(config.build_dir, "sockspec-suite")))
config.substitutions.append(
    ("%deviations", os.path.join(config.build_dir, "libsockspec-deviations.so")))
# lit itself on the built scripted cases, as a user runs them (`lit build/cases`).
config.substitutions.append(
    ("%lit_cases", f"{config.python} {config.lit} {os.path.join(config.build_dir, 'cases')}"))
config.substitutions.append(
    ("%cases", os.path.join(os.path.dirname(os.path.dirname(config.test_source_root)), "cases")))
config.substitutions.append(
    ("%uml_xstate_shim", os.path.join(config.build_dir, "libsockspec-uml-xstate.so")))
config.substitutions.append(
    ("%uml_xstate_check", os.path.join(config.build_dir, "sockspec-uml-xstate-check")))
config.substitutions.append(("%python", config.python))
config.substitutions.append(
    ("%expect_exit", config.python + " " + os.path.join(config.test_source_root, "expect_exit.py")))
config.substitutions.append(("FileCheck", config.filecheck))
config.substitutions.append(("not ", config.llvm_not + " "))

config.environment["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
config.environment["TMPDIR"] = os.environ.get("TMPDIR", "/tmp")
if config.strace:
    config.available_features.add("strace")
if os.uname().machine in ("x86_64", "i686"):
    config.available_features.add("x86")
if os.geteuid() == 0:
    config.available_features.add("root")
