"""lit test format for scripted cases: runs each .case file with `sockspec script`."""
import subprocess

import lit.formats
import lit.Test
import lit.TestRunner


class ScriptedCase(lit.formats.FileBasedTest):
    """Runs one .case file; passes when `sockspec script` exits 0."""

    def execute(self, test, lit_config):
        parsed = lit.TestRunner.parseIntegratedTestScript(test, require_script=False)
        if isinstance(parsed, lit.Test.Result):
            return parsed  # UNSUPPORTED for a missing REQUIRES feature, or a directive error
        _, tmp_base = lit.TestRunner.getTempPaths(test)
        command = [test.config.sockspec, "script", "--target", test.config.sockspec_target,
                   "--report", tmp_base + ".report", test.getSourcePath()]
        if test.config.sockspec_preload:
            command[2:2] = ["--preload", test.config.sockspec_preload]
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        output = "$ " + " ".join(command) + "\n" + done.stdout
        if done.returncode == 0 and "\nSKIP " in "\n" + done.stdout:
            return lit.Test.Result(lit.Test.UNSUPPORTED, output)
        if done.returncode == 0:
            return lit.Test.Result(lit.Test.PASS, output)
        return lit.Test.Result(lit.Test.FAIL, output)
