"""One error type for everything a user can get wrong, so the CLI can print it in one line and exit 2."""


class SceneError(ValueError):
    """A problem with user input, located by key path and, where known, file and line."""

    def __init__(self, message: str, path: str = "", file: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.file = file
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"
