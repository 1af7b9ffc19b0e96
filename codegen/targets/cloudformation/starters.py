"""The user's deployment files as flowgen creates them, and whether they add anything yet.

Kept apart from `deploy.py` and `overrides.py`, which validate the files with pydantic: a run
whose files are still as created (or hold only comments and empty sections) imports neither, and
the template is flowgen's own, which an edit builds in parts (`parts.py`).
"""

from __future__ import annotations

import json

from flowgen_design.dsl.model import Flow

STARTER = '{\n  "Parameters": {},\n  "Conditions": {},\n  "Resources": {},\n  "Outputs": {}\n}\n'


def handler_key(service: str, handler: str) -> str:
    return f"{service}.{handler}"


def adds_nothing(settings_text: str | None, overrides_text: str | None) -> bool:
    """Whether the two files, as read (None: absent), hold no setting and no extra entry: the
    settings file only comments (TOML with no key), the overrides file empty or only empty
    sections. Anything else, a mistake included, is for the validating road to read and report."""
    import tomllib  # where deployment settings are read: 3 ms of every run that reads none

    try:
        settings = tomllib.loads(settings_text) if settings_text is not None else {}
        overrides = json.loads(overrides_text) if overrides_text is not None and overrides_text.strip() else {}
    except ValueError:  # tomllib's and json's decode errors are ValueErrors
        return False
    if settings != {} or not isinstance(overrides, dict):
        return False
    return all(key in _SECTIONS and value == {} for key, value in overrides.items())


_SECTIONS = frozenset(("Parameters", "Conditions", "Mappings", "Resources", "Outputs"))


def starter_settings(flow: Flow) -> str:
    """The commented starter content of `deploy.toml`, with this flow's own names in its examples."""
    handlers = [handler_key(h.service, h.name) for h in flow.handlers()]
    service = flow.handlers()[0].service if handlers else "Payments"
    handler = handlers[0] if handlers else "Payments.charge"
    listed = "\n".join(f'#   [handlers."{name}"]' for name in handlers) or "#   (none yet)"
    return f"""\
# Deployment settings of flow {flow.name}: yours to edit. `flowgen generate` created this file once and never
# overwrites it; every run merges these settings into infra/{flow.name}/template.json. Extra resources (a table
# of your own, a secret) go in overrides.json next to it. Reference: the README, "Your deployment settings".
#
# Later tables override earlier ones: [functions] < [services.NAME] < [handlers."Service.handler"].
# `environment` merges key by key; `iam_statements` and `layers` add up.
#
# [functions]                         # every Lambda function of the flow (saga starters too)
# memory = 256                        # MB, 128..10240 (Lambda's default: 128)
# architecture = "arm64"              # or "x86_64" (the default); `flowgen package` builds for it
#
# [services.{service}]
# environment = {{ LOG_LEVEL = "INFO" }}
#
# [handlers."{handler}"]
# memory = {{ "Fn::If" = ["IsProd", 1024, 256] }}   # per stage: a condition on Stage in overrides.json
# reserved_concurrency = 10           # ReservedConcurrentExecutions
# event_source_concurrency = 5        # the SQS event source's ScalingConfig.MaximumConcurrency, 2..1000
# layers = ["arn:aws:lambda:eu-west-1:123456789012:layer:shared:3"]
# iam_statements = [
#   {{ Effect = "Allow", Action = ["secretsmanager:GetSecretValue"], Resource = {{ Ref = "ApiKeySecret" }} }},
# ]
#
# The handlers of this flow (as the spec had them when this file was created):
{listed}
"""
