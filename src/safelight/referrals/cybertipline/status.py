"""The statuses of a report (docs/cybertipline.md), in the order ``ls`` shows them."""

DRAFTED, OPENED, FINISHED, FAILED, RETRACTED = (
    "drafted",
    "opened",
    "finished",
    "failed",
    "retracted",
)
# Failures first: a failed submission nobody sees is the fault this order exists to avoid.
STATUSES = (FAILED, OPENED, DRAFTED, FINISHED, RETRACTED)
