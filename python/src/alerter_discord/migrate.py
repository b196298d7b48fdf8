"""``python -m alerter_discord.migrate``: from ZenML's ``discord`` alerter to ``discord_wasm``
in one command.

It registers the flavor (once), copies the active stack's alerter (or ``--from NAME``) into a
``discord_wasm`` alerter (``--name``, default ``<old>_wasm``) with the same configuration (a
``{{secret.key}}`` reference stays a reference: the secret is reused as it is), and puts the new
alerter in the active stack in its place. The old alerter is left registered, so going back is
``zenml stack update -al <old>``. Run it again and it reuses what it made.
"""

from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from zenml.client import Client
from zenml.enums import StackComponentType

from .zenml import FLAVOR_NAME, DiscordWasmAlerterConfig

SOURCE = "alerter_discord.zenml.DiscordWasmAlerterFlavor"
ALERTER = StackComponentType.ALERTER


def migrate(old_name: Optional[str] = None, new_name: Optional[str] = None) -> str:
    """Do the migration; returns what was done, one line per change."""
    client = Client()
    done: List[str] = []
    try:
        client.get_flavor_by_name_and_type(FLAVOR_NAME, ALERTER)
    except KeyError:
        client.create_flavor(source=SOURCE, component_type=ALERTER)
        done.append(f"registered the alerter flavor {FLAVOR_NAME} ({SOURCE})")
    stack = client.active_stack_model
    if old_name is None:
        current = stack.components.get(ALERTER) or []
        if not current:
            raise SystemExit(
                f"the active stack {stack.name!r} has no alerter: pass --from NAME, or register "
                f"one with `zenml alerter register NAME --flavor={FLAVOR_NAME} ...`"
            )
        old_name = current[0].name
    old = client.get_stack_component(ALERTER, old_name, allow_name_prefix_match=False)
    if old.flavor_name == FLAVOR_NAME:
        return f"{old.name!r} is already a {FLAVOR_NAME} alerter: nothing to do"
    keys = set(DiscordWasmAlerterConfig.model_fields)
    config = {k: v for k, v in old.configuration.items() if k in keys and v is not None}
    dropped = sorted(set(old.configuration) - keys)
    if "discord_token" not in config and "discord_webhook_url" not in config:
        raise SystemExit(f"{old.name!r} ({old.flavor_name}) has no discord_token to copy")
    new_name = new_name or f"{old.name}_wasm"
    try:
        existing = client.get_stack_component(ALERTER, new_name, allow_name_prefix_match=False)
        if existing.flavor_name != FLAVOR_NAME:
            raise SystemExit(
                f"an alerter named {new_name!r} exists with the flavor {existing.flavor_name}: "
                f"choose another name with --name"
            )
        done.append(f"reused the alerter {new_name!r}")
    except KeyError:
        client.create_stack_component(new_name, FLAVOR_NAME, ALERTER, config)
        done.append(
            f"registered the alerter {new_name!r} (flavor {FLAVOR_NAME}) with the configuration "
            f"of {old.name!r}: {', '.join(sorted(config))}"
        )
        if dropped:
            done.append(f"  not copied (unknown to {FLAVOR_NAME}): {', '.join(dropped)}")
    in_stack = [c.name for c in stack.components.get(ALERTER, [])]
    others = [n for n in in_stack if n not in (old.name, new_name)]
    client.update_stack(stack.id, component_updates={ALERTER: [new_name, *others]})
    if old.name in in_stack:
        done.append(
            f"the stack {stack.name!r} now uses {new_name!r} instead of {old.name!r} "
            f"(back: zenml stack update {stack.name} -al {old.name})"
        )
    else:
        done.append(f"the stack {stack.name!r} now uses {new_name!r} as its first alerter")
    return "\n".join(done)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m alerter_discord.migrate",
        description="Replace the active stack's Discord alerter with a discord_wasm one.",
    )
    p.add_argument("--from", dest="old", help="the alerter to copy (default: the stack's)")
    p.add_argument("--name", help="the new alerter's name (default: <old>_wasm)")
    args = p.parse_args(argv)
    print(migrate(args.old, args.name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
