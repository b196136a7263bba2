"""Putting entries into ``manifest.json`` by editing its text, not by dumping it again.

The project's generators that are not the converter (``onnx_models.blur_composite``,
``tools/train_mouth.py``) add their own entries at the end of the ``models`` list. Editing the
text keeps every other entry's layout byte for byte, so a regenerated manifest differs only in
the entries its generator owns. Standard library only.
"""

from __future__ import annotations

import json
import re
from typing import Any


def put_last(text: str, entries: dict[str, dict[str, Any]]) -> str:
    """``manifest.json``'s text with ``entries`` (by model name) as the list's last ones.

    A generator's entries are the list's last: where an older one of these names is found,
    the list is cut off from the first of them (what follows it is that generator's too)."""
    found = [i for i in (text.find(f'    {{\n      "name": "{n}"') for n in entries) if i >= 0]
    if found:
        text = text[: text.rfind(",", 0, min(found))] + "\n  ]\n}"
    for entry in entries.values():
        body = json.dumps(entry, indent=2, ensure_ascii=False)
        # Short lists (shapes, ranges) on one line, as the rest of the manifest has them.
        body = re.sub(
            r"\[\s*([^\[\]{}]*?)\s*\]",
            lambda m: "[" + ", ".join(x.strip() for x in m[1].split(",")) + "]",
            body,
        )
        body = "\n".join("    " + line for line in body.splitlines())
        end = text.rstrip().rfind("]")
        text = text[:end].rstrip() + ",\n" + body + "\n  ]\n}"
    json.loads(text)  # still valid
    return text
