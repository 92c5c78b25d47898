"""The one error the event contracts raise."""


class SchemaError(ValueError):
    """An event does not match its contract; the message names the field and the fix."""
