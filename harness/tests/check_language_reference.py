"""Checks that the table of calls in cases/LANGUAGE.md is the one `sockspec calls` prints
from the call table (harness/script/calls.cc), so the reference cannot drift from the
language. With --update, writes the printed table into the file instead.

usage: check_language_reference.py SOCKSPEC LANGUAGE_MD [--update]
"""
import re
import subprocess
import sys

sockspec, language = sys.argv[1], sys.argv[2]
update = "--update" in sys.argv[3:]
printed = subprocess.run([sockspec, "calls"], check=True, stdout=subprocess.PIPE, text=True).stdout
text = open(language).read()
section = re.search(r"(<!-- BEGIN:[^\n]*-->\n)(.*?)(<!-- END -->)", text, re.S)
if not section:
    sys.exit(f"{language}: no '<!-- BEGIN: ... -->' / '<!-- END -->' markers around the table of calls")
if update:
    open(language, "w").write(text[: section.start(2)] + printed + text[section.end(2):])
    print(f"{language}: table of calls written ({printed.count(chr(10)) - 2} calls)")
elif section.group(2) != printed:
    sys.exit(f"{language}: the table of calls differs from `sockspec calls`; run "
             f"`python3 harness/tests/check_language_reference.py {sockspec} {language} --update`")
else:
    print(f"{printed.count(chr(10)) - 2} calls, the same in {language} as in the call table")
