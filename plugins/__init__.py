"""kernkit's built-in plugins. Each uses only the public hooks and APIs of kernkit.core."""
