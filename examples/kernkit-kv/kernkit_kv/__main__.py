"""``python -m kernkit_kv`` prints where kvtool is, for ``kernkit boot -- "$(python -m kernkit_kv)" ...``."""

from kernkit_kv import kvtool_path

print(kvtool_path())
