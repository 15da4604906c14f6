"""Data captured from the reference server (codex-cli 0.169.0); see docs/reference-data.md."""
