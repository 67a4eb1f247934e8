"""Run a command, discard its output, print its wall time and peak RSS as JSON (for
common.run_process). Kept tiny, standard library only, run with `python -S`, so the child it
forks starts from this small process's RSS, not the benchmark's."""

import json
import os
import subprocess
import sys
import time

began = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(proc.pid, 0)
took = time.perf_counter() - began
err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
code = os.waitstatus_to_exitcode(status)
if code != 0:
    sys.stderr.write(f"exit {code}: {err}")
    sys.exit(1)
print(json.dumps({"seconds": took, "maxrss_kb": usage.ru_maxrss}))
