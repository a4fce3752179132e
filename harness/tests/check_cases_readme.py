"""Checks that cases/README.md, the table of contents of the scripted cases, names every
case file under cases/ and names no file that is not there; and that every case starts
with its rule and a Source: line, and that lit's directives (REQUIRES:, UNSUPPORTED:, XFAIL:)
appear only as header lines of their own: lit reads them anywhere in the file, so prose that
mentions one ("hence REQUIRES: root.") would silently make the case unsupported.

usage: check_cases_readme.py CASES_DIR
"""
import os
import re
import sys

cases_dir = sys.argv[1]
readme = open(os.path.join(cases_dir, "README.md")).read()
linked = set(re.findall(r"\]\(([^)]+\.case)\)", readme))
present = set()
problems = []
for root, _, files in os.walk(cases_dir):
    for name in files:
        if not name.endswith(".case"):
            continue
        path = os.path.relpath(os.path.join(root, name), cases_dir)
        present.add(path)
        with open(os.path.join(root, name)) as f:
            lines = f.read().splitlines()
        if not lines or not lines[0].startswith("# ") or len(lines[0]) < 10:
            problems.append(f"{path}: line 1 must state the rule ('# ...')")
        if not any(line.startswith("# Source:") for line in lines[:6]):
            problems.append(f"{path}: no '# Source:' line in its header")
        for number, line in enumerate(lines, 1):
            for directive in ("REQUIRES:", "UNSUPPORTED:", "XFAIL:"):
                if directive in line and not line.startswith("# " + directive):
                    problems.append(f"{path}:{number}: '{directive}' outside a header line of "
                                    "its own, where lit would read it as a directive")
problems += [f"cases/README.md does not list {p}" for p in sorted(present - linked)]
problems += [f"cases/README.md lists {p}, which does not exist" for p in sorted(linked - present)]
if problems:
    sys.exit("\n".join(problems))
print(f"{len(present)} cases, all listed, all with rule and source")
