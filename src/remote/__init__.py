"""Outbound HTTP: the OAuth issuer and the ChatGPT backend (spec account.md §17-§18), with httpx."""
