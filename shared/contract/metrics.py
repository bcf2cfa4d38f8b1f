"""The one step metric of every participant. Labels are fixed words: never an id or a secret."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

STEPS = Counter(
    "pic_participant_steps_total",
    "Saga steps a participant answered, by owner, step, action and result",
    ["owner", "step", "action", "result"],
)
STEP_SECONDS = Histogram(
    "pic_participant_step_seconds",
    "How long a participant took to answer a saga step",
    ["owner", "step", "action"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60),
)
