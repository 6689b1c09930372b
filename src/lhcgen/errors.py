"""The one exception type for mistakes a user can fix (bad files, configs, options).

The CLI prints such an error as a single line and exits non-zero; anything else is a bug
and keeps its traceback.
"""


class LhcgenError(Exception):
    """A user-facing problem: the message says what is wrong and what to do about it."""
