"""Domain errors. Views turn them into messages or 4xx answers; none is ever swallowed."""


class DomainError(Exception):
    """Base of the errors a user's action can meet; the message is shown to the user."""


class TransitionError(DomainError):
    """The object is not in a state from which the requested move is allowed."""


class RuleViolation(DomainError):
    """The move is legal in itself but a rule forbids it (four eyes, roles, tenancy)."""


class SubmissionError(DomainError):
    """The deletion request cannot be created as asked (bad ids, overlap, nothing selected)."""


class UnknownRuns(SubmissionError):
    """Some of the ids asked for are not among the customer's runs: how many, and the first few."""

    def __init__(self, *, count: int, given: int, examples: list[str]) -> None:
        shown = ", ".join(examples)
        more = f" and {count - len(examples):,} more" if count > len(examples) else ""
        super().__init__(
            f"Not among your parse runs: {shown}{more} ({count:,} of the {given:,} ids given)."
        )
        self.details = {"unknown": count, "given": given, "examples": examples}
