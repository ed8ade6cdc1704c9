"""Stories that drive the protocol through the public client: the docs' demo."""
