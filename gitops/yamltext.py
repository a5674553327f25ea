"""The one YAML serialisation of generated Kubernetes objects: block style, sorted keys, deterministic.

libyaml's emitter (PyYAML's C dumper): a fleet's tree is thousands of objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import yaml


def dump(document: Any) -> str:
    """One object as YAML text (same data, same bytes)."""
    return yaml.dump(document, Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False, width=4096)


def dump_all(documents: Iterable[Any]) -> str:
    """Several objects as one multi-document YAML stream."""
    return yaml.dump_all(list(documents), Dumper=yaml.CSafeDumper, sort_keys=True, default_flow_style=False,
                         width=4096)
