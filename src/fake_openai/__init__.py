"""A real HTTP fake of the OAuth issuer and the ChatGPT backend, for tests and the offline demo."""
