"""Secret scanning: detect-secrets with our plugins over every file, in any encoding."""
