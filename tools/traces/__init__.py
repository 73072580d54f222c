"""Trace viewers: summaries, Perfetto JSON and a timeline page from a JSON-lines trace."""
