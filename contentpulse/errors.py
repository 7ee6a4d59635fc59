"""The one exception type a user sees: a single line naming what is wrong."""


class ContentpulseError(Exception):
    """An error whose message is a complete, one-line explanation for the user.

    Raise it where the cause is known (the file, field, account or call), never with
    a secret in the text. The CLI prints it as `error: <message>` and exits 2.
    """


class ConfigError(ContentpulseError):
    """The configuration file is missing, malformed or invalid."""


class CredentialsError(ContentpulseError):
    """Credentials for an account are missing or rejected."""


class SourceError(ContentpulseError):
    """A platform API answered in a way the connector cannot use."""


class CheckFailed(ContentpulseError):
    """A critical data-quality expectation failed; publication is blocked."""
