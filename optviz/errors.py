"""One error type for everything a user can get wrong, so the CLI can print it in one line and exit 2."""
from __future__ import annotations


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

    def __reduce__(self):  # crosses process boundaries (render -j) with every field intact
        return (type(self), (self.message, self.path, self.file, self.line))


class MissingDependency(SceneError):
    """A scene names something this environment lacks (torch, or the package of a torch optimizer): valid as
    written, but not runnable here. The gallery skips such scenes, saying why; everything else reports them."""


class SceneErrors(SceneError):
    """Several problems at once; ``str`` gives one line per problem."""

    def __init__(self, problems: list[SceneError]):
        self.problems = list(problems)
        first = self.problems[0]
        super().__init__(first.message, first.path, first.file, first.line)

    def __str__(self) -> str:
        return "\n".join(SceneError.__str__(e) for e in self.problems)

    def __reduce__(self):
        return (SceneErrors, (self.problems,))


def problems_of(exc: SceneError) -> list[SceneError]:
    """The single problems inside an error, however many it holds."""
    return list(exc.problems) if isinstance(exc, SceneErrors) else [exc]
