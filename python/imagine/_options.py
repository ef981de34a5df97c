"""Python values as `--set key=value` assignments.

Options given from Python (``make_vec(..., image_size=16)``, ``train({"env": {"id": ...}})``)
go through the command's own parser as the assignments the command line would carry, so
every check (unknown keys, types, ranges, choices) and every message is the command's.
"""

import json
import math
import numbers
import os
import re
from collections.abc import Mapping

# Strings written bare, as one would type them after --set (so messages quote the same text):
# ones that cannot be read as another TOML value. Anything else is written as a quoted string.
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_./:+-]*\Z")
_NOT_BARE = {"true", "false", "inf", "nan"}


def toml_value(value, key):
    """The TOML text of ``value`` for the option ``key``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        f = float(value)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return repr(f)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        if _BARE.match(value) and value not in _NOT_BARE:
            return value
        return json.dumps(value)  # JSON's string escapes are valid in a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v, key) for v in value) + "]"
    raise TypeError(f"option '{key}': {type(value).__name__} is not an option value "
                    "(bool, int, float, str or a list of them)")


def assignments(mapping, prefix=""):
    """``{"env": {"id": "x"}, "storm.batch_size": 4}`` -> ``["env.id=x", "storm.batch_size=4"]``.

    Nested mappings are sections; dotted keys are taken as written (``--set`` semantics).
    """
    if not isinstance(mapping, Mapping):
        raise TypeError(f"options must be a mapping, got {type(mapping).__name__}")
    out = []
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"option keys must be strings, got {key!r}")
        path = prefix + key
        if isinstance(value, Mapping):
            out += assignments(value, path + ".")
        else:
            out.append(f"{path}={toml_value(value, path)}")
    return out
