"""Reading content files with line numbers, so problems can be reported as ``file:line: message``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml


class LineDict(dict):
    """A mapping from YAML that remembers the line of itself and of each key (1-based)."""

    line: int = 0
    key_lines: dict

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    line: int = 0


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    result = LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    seen: set = set()
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.MarkedYAMLError(problem=f"duplicate key {key!r}", problem_mark=key_node.start_mark)
        seen.add(key)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    result = LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(text: str, line_offset: int = 0):
    data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    if line_offset:
        _shift(data, line_offset)
    return data


def _shift(data, offset: int) -> None:
    if isinstance(data, LineDict):
        data.line += offset
        data.key_lines = {k: v + offset for k, v in data.key_lines.items()}
        for value in data.values():
            _shift(value, offset)
    elif isinstance(data, LineList):
        data.line += offset
        for value in data:
            _shift(value, offset)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass
class Problems:
    root: Path
    items: list[Problem] = field(default_factory=list)

    def add(self, file: Path, line: int, message: str) -> None:
        try:
            name = str(file.relative_to(self.root.parent))
        except ValueError:
            name = str(file)
        self.items.append(Problem(name, line, message))

    def __bool__(self) -> bool:
        return bool(self.items)


@dataclass
class FrontMatterDocument:
    meta: object
    body: str
    body_line: int  # line number in the file where the body starts


def read_front_matter(path: Path, problems: Problems) -> FrontMatterDocument | None:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        problems.add(path, 1, "a drop file must start with '---' and YAML front matter")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        problems.add(path, 1, "front matter is not closed by a line '---'")
        return None
    try:
        meta = load_yaml("\n".join(lines[1:end]), line_offset=1)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.add(path, (mark.line + 2) if mark else 1, f"invalid YAML: {getattr(error, 'problem', error)}")
        return None
    return FrontMatterDocument(meta=meta, body="\n".join(lines[end + 1 :]), body_line=end + 2)


def text_of(value) -> str:
    """A scalar from YAML as stripped text (numbers and booleans as YAML wrote them)."""
    return value.strip() if isinstance(value, str) else str(value).strip()


def read_yaml_file(file: Path, problems: Problems):
    """Parse ``file``; a syntax error becomes a ``file:line`` problem and None."""
    try:
        return load_yaml(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.add(file, (mark.line + 1) if mark else 1, f"invalid YAML: {getattr(error, 'problem', error)}")
        return None


def check_keys(mapping, spec: dict[str, bool], file: Path, what: str, problems: Problems) -> bool:
    """Report unknown keys and missing (or empty) required ones of ``mapping``; True when there are none.

    ``spec`` maps each allowed key to whether it is required.
    """
    if not isinstance(mapping, LineDict):
        problems.add(file, getattr(mapping, "line", 1), f"{what} must be a mapping of keys to values")
        return False
    ok = True
    for key in mapping:
        if key not in spec:
            problems.add(file, mapping.line_of(key), f"unknown key {key!r} in {what} (allowed: {', '.join(spec)})")
            ok = False
    for key, required in spec.items():
        value = mapping.get(key)
        if required and (value is None or (isinstance(value, str) and not value.strip()) or value == []):
            problems.add(file, mapping.line_of(key), f"{what} is missing {key!r}")
            ok = False
    return ok
