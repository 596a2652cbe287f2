"""atomic_write's file modes honour the umask, read on first use, not when the module is imported."""

import subprocess
import sys

SCRIPT = """
import os, stat, sys
from pathlib import Path
real = os.umask
os.umask = lambda m: sys.exit("os.umask called at import")
from grokking_tickets import files
os.umask = real
os.umask(0o027)  # set after the import: a umask read at import would miss it
if sys.argv[1] == "fallback":  # no /proc: read by setting and restoring it
    real_open = open
    files.open = lambda p, *a, **k: (_ for _ in ()).throw(OSError()) if p == "/proc/self/status" else real_open(p, *a, **k)
files.atomic_write(Path(sys.argv[2]), lambda tmp: Path(tmp).write_text("x"))
print(oct(stat.S_IMODE(os.stat(sys.argv[2]).st_mode)), oct(os.umask(0)))
"""


def test_modes_follow_the_umask_read_on_first_use(tmp_path):
    for how in ("proc", "fallback"):
        cmd = [sys.executable, "-c", SCRIPT, how, str(tmp_path / how)]
        r = subprocess.run(cmd, check=False, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["0o640", "0o27"], how  # the umask is left as it was
