"""The ZenML flavor's own logic, in process: params given ZenML's way or this package's, the
messages it accepts, and the config ZenML sees (secret fields, keys)."""

from __future__ import annotations

import logging
import os
from typing import List, Optional

import pytest

if os.environ.get("ALERTER_REQUIRE_ZENML"):
    import zenml  # noqa: F401
else:
    pytest.importorskip("zenml")

from pydantic import BaseModel  # noqa: E402
from zenml.alerter.base_alerter import BaseAlerterStepParameters  # noqa: E402

from alerter_discord import AlerterMessage, Payload  # noqa: E402
from alerter_discord import zenml as flavor  # noqa: E402


class DiscordAlerterPayload(BaseModel):
    """ZenML 0.98's, field for field (its module imports discord.py, which is not installed)."""

    pipeline_name: Optional[str] = None
    step_name: Optional[str] = None
    stack_name: Optional[str] = None


class DiscordAlerterParameters(BaseAlerterStepParameters):
    discord_channel_id: Optional[str] = None
    approve_msg_options: Optional[List[str]] = None
    disapprove_msg_options: Optional[List[str]] = None
    payload: Optional[DiscordAlerterPayload] = None
    include_format_blocks: Optional[bool] = True


def test_zenml_discord_parameters_map_to_this_packages():
    p = DiscordAlerterParameters(
        discord_channel_id="123456789012345678",
        approve_msg_options=["ship it"],
        disapprove_msg_options=["hold"],
        payload=DiscordAlerterPayload(pipeline_name="training", step_name="trainer"),
    )
    out = flavor._call_params(p, {}, "ask")
    assert out == {
        "channel_id": "123456789012345678",
        "approve_keywords": ["ship it"],
        "disapprove_keywords": ["hold"],
        "payload": Payload(pipeline_name="training", step_name="trainer"),
        "include_format_blocks": True,
    }


def test_this_packages_parameters_and_keywords_override_the_object():
    p = flavor.DiscordWasmAlerterParameters(timeout=30, approvers=["1"], severity="warning")
    out = flavor._call_params(p, {"timeout": 5, "key": "deploy-7"}, "ask")
    assert out["timeout"] == 5 and out["key"] == "deploy-7" and out["approvers"] == ["1"]
    assert out["severity"] == "warning"
    # A dict works too.
    assert flavor._call_params({"discord_channel_id": "9"}, {}, "post") == {"channel_id": "9"}


def test_parameters_of_another_verb_or_flavor_are_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="alerter_discord.zenml"):
        out = flavor._call_params({"timeout": 5, "slack_channel_id": "C1"}, {}, "post")
    assert out == {}
    assert "'timeout'" in caplog.text and "'slack_channel_id'" in caplog.text
    with pytest.raises(TypeError, match="pydantic model or a dict"):
        flavor._call_params(42, {}, "post")


def test_messages_are_str_alerter_message_or_alike():
    assert flavor._as_message("hi") == "hi"
    m = AlerterMessage(title="t")
    assert flavor._as_message(m) is m

    class TheirMessage:  # a ZenML version with its own AlerterMessage
        title = "Run done"
        body = "ok"
        metadata = {"acc": 0.9}
        images = ["https://example.com/p.png"]

    got = flavor._as_message(TheirMessage())
    assert got == AlerterMessage("Run done", "ok", {"acc": 0.9}, ["https://example.com/p.png"])
    with pytest.raises(TypeError):
        flavor._as_message(None)


def test_config_marks_secrets_and_knows_the_config_file_keys():
    fields = flavor.DiscordWasmAlerterConfig.model_fields
    for secret in ("discord_token", "discord_webhook_url"):
        assert (fields[secret].json_schema_extra or {}).get("sensitive") is True, secret
    assert not (fields["default_discord_channel_id"].json_schema_extra or {}).get("sensitive")
    from alerter_discord.alerter import _CONFIG_KEYS

    assert set(_CONFIG_KEYS) <= set(fields), "every config-file key is a flavor config key"
    f = flavor.DiscordWasmAlerterFlavor()
    assert f.name == "discord_wasm"
    assert f.config_class is flavor.DiscordWasmAlerterConfig
    assert f.implementation_class is flavor.DiscordWasmAlerter
