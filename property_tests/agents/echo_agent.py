"""A command agent that does exactly what a behaviour file says: a hostile agent's script.

Run as ``python echo_agent.py BEHAVIOUR_FILE``. The file (JSON) holds, per
role (``executor``, ``reviewer``): ``files`` (name -> content, written in the
worktree), ``stdout`` and ``stderr`` (lines printed first), ``result`` (the
JSON object printed last; printed as given, a lone surrogate escaped) and
``exit`` (the exit status).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main() -> int:
    behaviour = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    mine = behaviour[os.environ["PLAYBILL_ROLE"]]
    for name, content in mine.get("files", {}).items():
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_text(content, encoding="utf-8")
    for line in mine.get("stderr", []):
        print(line, file=sys.stderr, flush=True)
    for line in mine.get("stdout", []):
        print(line, flush=True)
    print(json.dumps(mine["result"]), flush=True)
    return int(mine.get("exit", 0))


if __name__ == "__main__":
    sys.exit(main())
