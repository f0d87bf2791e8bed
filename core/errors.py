"""Errors that reach the user as one clear line."""


class BorealisError(Exception):
    """A failure the user can act on; the CLI prints it as one line and exits non-zero."""


class ConfigError(BorealisError):
    """A configuration value is wrong; the message names the file and line when known."""
