"""The pipelines the ZenML flow test runs (`python pipelines.py NAME`), as a user would write
them: the generic steps posting an AlerterMessage and asking, a step that uses the alerter
directly, and failing steps with ZenML's own failure hook and with the package's structured one.
"""

import sys

from zenml import pipeline, step
from zenml.client import Client
from zenml.hooks import alerter_failure_hook

from alerter_discord import AlerterMessage
from alerter_discord.zenml import (
    alerter_ask_step,
    alerter_post_step,
    structured_failure_hook,
    structured_success_hook,
)


@step(enable_cache=False)
def train() -> float:
    return 0.93


@step(enable_cache=False)
def report(accuracy: float) -> bool:
    """The docs' way: the active stack's alerter, an AlerterMessage, keyword arguments."""
    alerter = Client().active_stack.alerter
    return alerter.post(
        message=AlerterMessage(
            title="Training finished",
            body="resnet50-v7 is ready for review",
            metadata={"accuracy": accuracy, "version": "1.10", "epochs": 12},
        )
    )


@step(enable_cache=False)
def say_hello() -> bool:
    return Client().active_stack.alerter.post("hello from a migrated stack")


@pipeline(enable_cache=False)
def hello() -> None:
    say_hello()


@pipeline(enable_cache=False, on_success=structured_success_hook)
def gated_release() -> None:
    accuracy = train()
    report(accuracy)
    alerter_post_step(AlerterMessage(title="Evaluation done", metadata={"split": "test"}),
                      id="announce")
    # ZenML's DiscordAlerterParameters names and this package's, side by side.
    alerter_ask_step("Promote resnet50-v7 to production?",
                     params={"approve_msg_options": ["LGTM", "ship it"], "timeout": 60,
                             "poll_interval": 0.2},
                     id="gate", after=["announce"])


def _ping(n: int) -> None:
    if n == 0:
        raise ValueError("loss is NaN at epoch 7")
    _pong(n - 1)


def _pong(n: int) -> None:
    _ping(n - 1)  # two functions, so Python does not fold the frames into "repeated N times"


@step(enable_cache=False, on_failure=alerter_failure_hook)
def fails_with_zenml_hook() -> None:
    _ping(4)  # even: _ping(0) raises


@step(enable_cache=False, on_failure=structured_failure_hook)
def fails_with_structured_hook(learning_rate: float = 0.01) -> None:
    _ping(60)  # even: _ping(0) raises


@pipeline(enable_cache=False)
def broken_zenml_hook() -> None:
    fails_with_zenml_hook()


@pipeline(enable_cache=False)
def broken_structured_hook() -> None:
    fails_with_structured_hook(learning_rate=0.01)


if __name__ == "__main__":
    which = {"hello": hello, "gated_release": gated_release,
             "broken_zenml_hook": broken_zenml_hook,
             "broken_structured_hook": broken_structured_hook}[sys.argv[1]]
    try:
        run = which()
    except RuntimeError as e:  # a failed step fails the run
        print(f"RUN FAILED: {e}")
        sys.exit(3)
    gate = run.steps.get("gate")
    if gate is not None:
        print(f"GATE OUTPUT: {gate.output.load()!r}")
    hello_step = run.steps.get("say_hello")
    if hello_step is not None:
        print(f"HELLO OUTPUT: {hello_step.output.load()!r}")
    report_step = run.steps.get("report")
    if report_step is not None:
        print(f"REPORT OUTPUT: {report_step.output.load()!r}")
