"""The embedded demo platform: database, API emulators and a sample source tree, on loopback."""
