"""PyInstaller's entry point for dist/synscope: the same main() the ``synscope`` console script runs.

One more job, because a frozen program has no Python interpreter beside it: tui.core.capture
enters a namespace by running ``sys.executable -I -S -c SHIM ARGS...`` (a few lines that call
setns() and exec tcpdump). Frozen, ``sys.executable`` is this very file, so it answers that
one command line the way ``python -I -S -c`` would: it runs the code with ``sys.argv`` set to
``["-c", ARGS...]``. No other interpreter option is understood. The child reuses the unpacked
runtime of its parent (PyInstaller does that for a program that runs itself), so this costs no
second unpacking.
"""

import sys

if sys.argv[1:4] == ["-I", "-S", "-c"] and len(sys.argv) > 4:
    code = sys.argv[4]
    sys.argv = ["-c", *sys.argv[5:]]
    exec(compile(code, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
    sys.exit(0)

from tui.cli import main  # after the check above: the shim needs none of it

sys.exit(main())
