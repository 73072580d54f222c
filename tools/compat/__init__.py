"""The compatibility suite: Debian's programs run unchanged, each compared with the same run under
qemu-user (docs/compat.md); ``kernkit compat`` and the Linux compatibility table."""
