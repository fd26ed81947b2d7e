"""Reading a spec file: UTF-8 YAML with every duplicate key reported (:func:`read_yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from playbook.errors import SpecError


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader that records every key given twice in one mapping (YAML 1.1 and
    PyYAML keep the last one silently). Merge keys (``<<``) may be overridden, as YAML says."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []  # (line, problem)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader's own error follows
                continue
            if first is None:
                seen[key] = line
            else:
                self.duplicates.append((line, f"line {line}: key '{key}' is given twice in the same "
                                              f"mapping (first on line {first}); keep one"))
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> dict[str, Any]:
    """A spec file's mapping; a :class:`SpecError` naming the file (and the line) otherwise."""
    if not path.exists():
        raise SpecError(f"{path}: spec file not found")
    if path.is_dir():
        raise SpecError(f"{path}: is a folder, not a spec; give a spec file (e.g. {path}/<campaign>.yml) "
                        f"or several: playbook run {path}/*.yml")
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise SpecError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the spec "
            f"as UTF-8 (your editor's 'save with encoding', or `iconv -f latin1 -t utf-8`)"
        ) from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the spec ({exc.strerror}); check its permissions") from None
    loader = _UniqueKeyLoader(text)
    try:
        raw = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    finally:
        loader.dispose()
    if loader.duplicates:
        raise SpecError("\n".join(f"{path}: {d}" for _, d in sorted(loader.duplicates)))
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec is a YAML mapping with keys campaign, title, owner, ... runs")
    return raw
