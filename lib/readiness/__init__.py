"""readiness: measure whether a game-server hosting platform is ready to take real money."""

__version__ = "0.1.0"
