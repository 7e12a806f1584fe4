"""The one YAML reader of summeval's own files (study configs, fine-tuning recipes).

YAML's safe loader still resolves a duplicate key silently (the last wins: a model disappears from a
study) and expands aliases without limit (an alias bomb of a few hundred bytes stands for billions of
nodes: reading or hashing it hangs). This reader refuses both, and a file that is not a regular file,
too large or not UTF-8, with one line naming the file and the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from summeval_tasks.util.source_files import CONFIG_FILE_LIMIT, check_regular_file, decode_utf8

ALIAS_LIMIT = 100
"""The most aliases (``*name``) a file may use."""
NODE_LIMIT = 100_000
"""The most nodes a file may stand for once its aliases are expanded."""


def load_yaml_file(path: Path, error: type[Exception], what: str) -> Any:
    """The YAML document of ``path`` (None when empty), or ``error("<what>...: <why>")`` naming the file
    and, for what YAML refuses, the line."""
    check_regular_file(path, error, what, CONFIG_FILE_LIMIT)
    text = decode_utf8(path, error, what, "YAML")
    return load_yaml_text(text, error, f"{what} {path}")


def load_yaml_text(text: str, error: type[Exception], origin: str) -> Any:
    """The YAML document of ``text`` read from ``origin`` (a file, ``--set lora.r``), strictly."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        aliases = 0

        def compose_node(self, parent, index):
            if self.check_event(yaml.AliasEvent):
                self.aliases += 1
                if self.aliases > ALIAS_LIMIT:
                    mark = self.peek_event().start_mark
                    raise error(
                        f"{origin}, line {mark.line + 1}: more than {ALIAS_LIMIT} aliases (*name); "
                        "write the values out"
                    )
            return super().compose_node(parent, index)

        def construct_mapping(self, node, deep=False):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                line = key_node.start_mark.line + 1
                try:
                    first = seen.get(key)
                except TypeError:
                    continue  # an unhashable key: the safe loader refuses it itself
                if first is not None:
                    raise error(
                        f"{origin}, line {line}: duplicate key {key!r} (first on line {first}); "
                        "keep one of them"
                    )
                seen[key] = line
            return super().construct_mapping(node, deep=deep)

    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_expanded_size(root, error, origin)
        return loader.construct_document(root)
    except yaml.YAMLError as err:
        raise error(f"{origin} is not valid YAML: {' '.join(str(err).split())}") from err
    finally:
        loader.dispose()


def _check_expanded_size(root: Any, error: type[Exception], origin: str) -> None:
    """Refuse a document that stands for more than ``NODE_LIMIT`` nodes once aliases are expanded."""
    import yaml

    sizes: dict[int, int] = {}
    # post-order without recursion: a deep file must not hit Python's recursion limit either
    stack: list[tuple[Any, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            sizes[id(node)] = 1
            continue
        if done:
            on_path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[id(node)] > NODE_LIMIT:
                raise error(
                    f"{origin}, line {node.start_mark.line + 1}: this value stands for more than "
                    f"{NODE_LIMIT:,} values once its aliases are expanded (an alias bomb?); write it out"
                )
            continue
        if id(node) in on_path:
            raise error(f"{origin}, line {node.start_mark.line + 1}: an alias refers to the value holding it")
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)
