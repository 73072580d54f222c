"""The compatibility suite's data: one TOML file per program family, the scripts and sources its
checks run, and the reference outputs recorded under qemu-user (docs/compat.md)."""
