"""What a run record and the archive may not carry: secrets and the paths of this machine.

- **Secrets.** A spec names its credentials (``connection: {env: CRM_DB}``), never writes them;
  :class:`Redactor` replaces the value of every variable so named with ``$NAME`` in whatever the
  runner records (run.json, the executed notebook, the outcome), in case a library repeats it in
  an error (DuckDB repeats the file it could not open).
- **Machine paths.** Tracebacks name files by absolute path; :func:`strip_machine_paths` makes
  them relative to the project, the package, ``site-packages/`` or ``~`` so that failure pages
  show where it broke without publishing how this machine is laid out.
"""

from __future__ import annotations

import json
import os
import re
import site
import sys
import sysconfig
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from playbook import atomic

_SITE_PACKAGES = re.compile(r"(?:[A-Za-z]:)?[/\\][^\s'\"()<>]*?[/\\](?:site|dist)-packages[/\\]")


@lru_cache(maxsize=8)
def _prefixes(root: str) -> tuple[tuple[str, str], ...]:
    """(absolute prefix, replacement) pairs, longest prefix first."""
    import playbook

    pairs: dict[str, str] = {}
    for sp in [*site.getsitepackages(), site.getusersitepackages(),
               sysconfig.get_paths().get("purelib", ""), sysconfig.get_paths().get("platlib", "")]:
        if sp:
            pairs[sp] = "site-packages/"
    pairs[str(Path(playbook.__file__).resolve().parent.parent)] = ""  # src/ or site-packages
    stdlib = sysconfig.get_paths().get("stdlib", "")
    if stdlib:
        pairs[stdlib] = "python/"
    for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix):
        pairs.setdefault(prefix, "python/")
    pairs[str(Path.home())] = "~/"
    if root:
        pairs[root] = ""
    return tuple(sorted(((k.rstrip("/\\"), v) for k, v in pairs.items() if len(k) > 1),
                        key=lambda kv: -len(kv[0])))


def strip_machine_paths(text: str, root: str | Path | None = None) -> str:
    """``text`` with absolute paths of this machine made relative (see the module docstring).

    ``root`` is the project root (default: the working folder).
    """
    if not text:
        return text
    base = str(Path(root if root is not None else Path.cwd()).resolve())
    for prefix, replacement in _prefixes(base):
        for sep in ("/", "\\"):
            text = text.replace(prefix + sep, replacement)
    return _SITE_PACKAGES.sub("site-packages/", text)


def env_secrets(sources: Mapping[str, Any]) -> dict[str, str]:
    """Name → value of every environment variable that a spec's ``data`` section names."""
    out: dict[str, str] = {}
    for value in sources.values():
        conn = value.get("connection") if isinstance(value, Mapping) else None
        if isinstance(conn, Mapping) and isinstance(conn.get("env"), str):
            secret = os.environ.get(conn["env"], "")
            if secret:
                out[conn["env"]] = secret
    return out


class Redactor:
    """Replaces secret values by ``$NAME`` in text, JSON-like trees and recorded files."""

    def __init__(self, secrets: Mapping[str, str], root: str | Path | None = None) -> None:
        # longest first, so that a value containing another is replaced whole
        self.secrets = sorted(((n, v) for n, v in secrets.items() if v), key=lambda nv: -len(nv[1]))
        self.root = root

    def text(self, text: str) -> str:
        for name, value in self.secrets:
            text = text.replace(value, f"${name}")
            escaped = json.dumps(value)[1:-1]
            if escaped != value:
                text = text.replace(escaped, f"${name}")
        return text

    def error(self, text: str) -> str:
        """An error message or traceback for the record: secrets and machine paths removed."""
        return strip_machine_paths(self.text(text), self.root)

    def tree(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.tree(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        return value

    def notebook(self, path: Path) -> None:
        """Rewrite an executed notebook: secrets out everywhere, machine paths out of errors."""
        try:
            original = path.read_text(encoding="utf-8")
            nb = json.loads(original)
        except (OSError, ValueError):
            return
        for cell in nb.get("cells", []):
            for out in cell.get("outputs", []) or []:
                if out.get("output_type") == "error":
                    out["evalue"] = self.error(str(out.get("evalue", "")))
                    out["traceback"] = [self.error(str(line)) for line in out.get("traceback", [])]
        cleaned = self.tree(nb)
        if cleaned != json.loads(original):
            atomic.write_text(path, json.dumps(cleaned, indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    def json_file(self, path: Path) -> None:
        """Rewrite a JSON record (an outcome) without secrets."""
        if not self.secrets:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        cleaned = self.tree(data)
        if cleaned != data:
            atomic.write_text(path, json.dumps(cleaned, indent=2, ensure_ascii=False) + "\n")
