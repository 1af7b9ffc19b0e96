"""Deployment settings of yours: `infra/<flow>/deploy.toml`, merged into the generated template.

The spec says what the system does; this file says how big and where it runs, which
the spec has no business knowing: memory, architecture, reserved concurrency, the
SQS event source's maximum concurrency, environment variables, extra IAM statements
and layers. Tables apply in order, a later one over an earlier one:

    [functions]                    every Lambda function of the flow (saga starters too)
    [services.Payments]            the functions of one service's handlers
    [handlers."Payments.charge"]   one handler's function (its name as `flowgen trace` takes it)

`environment` tables merge key by key; `iam_statements` and `layers` add up. Numbers
and environment values may be CloudFormation functions (`{ "Fn::If" = [...] }` on a
condition on `Stage`: settings per environment). The file
is validated with pydantic at the edge (unknown keys, out-of-range values, a service or
handler the spec does not have, an environment variable flowgen or Lambda sets itself
are FLOW331, at their line), and what it adds is validated with the template.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from flowgen_design.codegen.aws.plan import Plan
from flowgen_design.codegen.targets.cloudformation.iam import VERSION
from flowgen_design.codegen.targets.cloudformation.starters import handler_key, starter_settings  # noqa: F401
from flowgen_design.codegen.targets.cloudformation.template import Json, Template
from flowgen_design.codegen.targets.cloudformation.userfiles import UserFile
from flowgen_design.dsl import codes
from flowgen_design.dsl.model import Flow


def _intrinsic(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) != 1 or not next(iter(value)).startswith(("Ref", "Fn::")) or next(iter(value)) not in INTRINSICS:
        raise ValueError('a table here must be one CloudFormation function, such as `{ Ref = "MyTable" }`')
    return value


INTRINSICS = frozenset(
    "Ref Fn::GetAtt Fn::Sub Fn::Join Fn::Select Fn::Split Fn::If Fn::ImportValue Fn::FindInMap Fn::Base64".split()
)
Intrinsic = Annotated[dict[str, Any], AfterValidator(_intrinsic)]
"""A CloudFormation intrinsic function (`{ Ref = "MyTable" }`), passed through as written."""

LAMBDA_RESERVED_VARIABLES = frozenset(
    """_HANDLER _X_AMZN_TRACE_ID AWS_DEFAULT_REGION AWS_REGION AWS_EXECUTION_ENV AWS_LAMBDA_FUNCTION_NAME
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE AWS_LAMBDA_FUNCTION_VERSION AWS_LAMBDA_INITIALIZATION_TYPE
    AWS_LAMBDA_LOG_GROUP_NAME AWS_LAMBDA_LOG_STREAM_NAME AWS_ACCESS_KEY AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
    AWS_SESSION_TOKEN AWS_LAMBDA_RUNTIME_API LAMBDA_TASK_ROOT LAMBDA_RUNTIME_DIR""".split()
)
"""Variables the Lambda runtime sets itself: a function that sets one is refused at deploy time."""
MAX_LAYERS = 5
LAYER_ARN = re.compile(r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+")


def _layer_arn(text: str) -> str:
    if not LAYER_ARN.fullmatch(text):
        raise ValueError("not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)")
    return text


LayerArn = Annotated[str, AfterValidator(_layer_arn)]
"""A layer version's ARN (or an intrinsic function that makes one)."""
SETTINGS_POLICY = "deploy-settings"


class IamStatement(BaseModel):
    """One IAM policy statement, in IAM's own spelling."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    Sid: str | None = None
    Effect: Literal["Allow", "Deny"]
    Action: str | list[str] | None = None
    NotAction: str | list[str] | None = None
    Resource: str | Intrinsic | list[str | Intrinsic] | None = None
    NotResource: str | Intrinsic | list[str | Intrinsic] | None = None
    Condition: dict[str, Any] | None = None

    def as_json(self) -> Json:
        return self.model_dump(exclude_none=True)


class FunctionSettings(BaseModel):
    """What may be set on a function (and its event source, role and layers)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    memory: Annotated[int, Field(ge=128, le=10240)] | Intrinsic | None = None
    architecture: Literal["x86_64", "arm64"] | None = None
    """A literal: `flowgen package` builds each function's zip for it."""
    reserved_concurrency: Annotated[int, Field(ge=0)] | Intrinsic | None = None
    event_source_concurrency: Annotated[int, Field(ge=2, le=1000)] | Intrinsic | None = None
    environment: dict[str, str | int | float | bool | Intrinsic] = {}
    iam_statements: list[IamStatement] = []
    layers: list[LayerArn | Intrinsic] = []

    @field_validator("environment")
    @classmethod
    def _variable_names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name):
                raise ValueError(f"`{name}` is not an environment variable name (letters, digits, `_`)")
            if name in LAMBDA_RESERVED_VARIABLES:
                raise ValueError(f"`{name}` is set by the Lambda runtime itself")
        return value

    @field_validator("iam_statements")
    @classmethod
    def _complete_statements(cls, value: list[IamStatement]) -> list[IamStatement]:
        for s in value:
            if (s.Action is None) == (s.NotAction is None):
                raise ValueError("each statement needs exactly one of `Action` and `NotAction`")
            if (s.Resource is None) == (s.NotResource is None):
                raise ValueError("each statement needs exactly one of `Resource` and `NotResource`")
        return value

    def over(self, base: FunctionSettings) -> FunctionSettings:
        """These settings on top of `base`: scalars replace, environments merge, lists add up."""
        scalars = {
            k: v
            for k in ("memory", "architecture", "reserved_concurrency", "event_source_concurrency")
            if (v := getattr(self, k)) is not None
        }
        return base.model_copy(
            update={
                **scalars,
                "environment": {**base.environment, **self.environment},
                "iam_statements": [*base.iam_statements, *self.iam_statements],
                "layers": [*base.layers, *(x for x in self.layers if x not in base.layers)],
            }
        )


class Settings(BaseModel):
    """The whole file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    functions: FunctionSettings = FunctionSettings()
    services: dict[str, FunctionSettings] = {}
    handlers: dict[str, FunctionSettings] = {}


def load_settings(file: UserFile, flow: Flow) -> Settings:
    """The settings in `file` (none when it is absent), every mistake reported on `file`."""
    if file.text is None:
        return Settings()
    import tomllib  # where deployment settings are read: 3 ms of every run that reads none

    try:
        data = tomllib.loads(file.text)
    except tomllib.TOMLDecodeError as err:
        at = re.search(r"at line (\d+), column (\d+)", str(err))
        line, column = (int(at.group(1)), int(at.group(2))) if at else (1, 1)
        file.report(codes.DEPLOY_SETTINGS_INVALID, f"not valid TOML: {str(err).split(' (at line')[0]}", (line, column))
        return Settings()
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        file.validation_problems(codes.DEPLOY_SETTINGS_INVALID, err, data)
        return Settings()
    _known_names(file, flow, settings)
    return settings


def _known_names(file: UserFile, flow: Flow, settings: Settings) -> None:
    import difflib

    services = [s.name for s in flow.services]
    handlers = [handler_key(h.service, h.name) for h in flow.handlers()]
    for table, names, given in (("services", services, settings.services), ("handlers", handlers, settings.handlers)):
        for name in given:
            if name in names:
                continue
            close = difflib.get_close_matches(name, names, n=1)
            hint = f"did you mean `{close[0]}`?" if close else f"{table} of flow {flow.name}: {', '.join(names)}"
            noun = "service" if table == "services" else "handler"
            file.report(
                codes.DEPLOY_SETTINGS_INVALID,
                f"flow {flow.name} has no {noun} `{name}`",
                file.locate([table, name]),
                hint=hint,
            )


def applying_tables(
    settings: Settings, service: str, handler: str
) -> list[tuple[tuple[str, ...], FunctionSettings | None]]:
    """The tables that apply to one handler's function, in the order they apply (a later one over an
    earlier one), each with its path in the file; None for a table the file does not have."""
    key = handler_key(service, handler)
    return [
        (("functions",), settings.functions),
        (("services", service), settings.services.get(service)),
        (("handlers", key), settings.handlers.get(key)),
    ]


def handler_settings(settings: Settings, service: str, handler: str) -> FunctionSettings:
    """What one handler's function gets: its applying tables merged."""
    chosen = FunctionSettings()
    for _, table in applying_tables(settings, service, handler):
        if table is not None:
            chosen = table.over(chosen)
    return chosen


def apply_settings(t: Template, plan: Plan, settings: Settings, file: UserFile) -> None:
    """Merge the settings into the template's functions, event sources and roles."""
    for planned in plan.handlers:
        h = planned.handler
        chosen = handler_settings(settings, h.service, h.name)
        key = handler_key(h.service, h.name)
        ids = (planned.function.logical_id, planned.event_source_mapping.logical_id, planned.role.logical_id)
        _apply(t, ids, chosen, file, key)
    for saga in plan.sagas:
        s = saga.starter
        ids = (s.function.logical_id, s.event_source_mapping.logical_id, s.role.logical_id)
        _apply(t, ids, settings.functions, file, f"the starter of saga {saga.saga.name}")


def _apply(t: Template, ids: tuple[str, str, str], chosen: FunctionSettings, file: UserFile, who: str) -> None:
    function_id, mapping_id, role_id = ids
    _function(t.resources[function_id]["Properties"], chosen, file, who)
    if chosen.event_source_concurrency is not None:
        mapping = t.resources[mapping_id]["Properties"]
        mapping["ScalingConfig"] = {"MaximumConcurrency": chosen.event_source_concurrency}
    if chosen.iam_statements:
        document = {"Version": VERSION, "Statement": [s.as_json() for s in chosen.iam_statements]}
        policy = {"PolicyName": SETTINGS_POLICY, "PolicyDocument": document}
        t.resources[role_id]["Properties"]["Policies"].append(policy)


def _function(function: Json, chosen: FunctionSettings, file: UserFile, who: str) -> None:
    scalars = {
        "MemorySize": chosen.memory,
        "Architectures": [chosen.architecture] if chosen.architecture else None,
        "ReservedConcurrentExecutions": chosen.reserved_concurrency,
        "Layers": list(chosen.layers) or None,
    }
    function.update((key, value) for key, value in scalars.items() if value is not None)
    if len(chosen.layers) > MAX_LAYERS:
        message = f"{who} gets {len(chosen.layers)} layers; Lambda takes at most {MAX_LAYERS}"
        file.report(codes.DEPLOY_SETTINGS_INVALID, message, file.locate_word("layers"))
    reserved, scaling = chosen.reserved_concurrency, chosen.event_source_concurrency
    if isinstance(reserved, int) and isinstance(scaling, int) and scaling > reserved:
        message = f"{who}: event_source_concurrency {scaling} is above reserved_concurrency {reserved}"
        hint = "the queue would drive more invocations than the function may run: throttled messages return late"
        file.report(codes.DEPLOY_SETTINGS_INVALID, message, file.locate_word("event_source_concurrency"), hint)
    if chosen.environment:
        _environment(function.setdefault("Environment", {}).setdefault("Variables", {}), chosen, file)


def _environment(variables: Json, chosen: FunctionSettings, file: UserFile) -> None:
    for name, value in chosen.environment.items():
        if name in variables:
            message = f"`{name}` is set by flowgen: the generated code reads it"
            file.report(codes.DEPLOY_SETTINGS_INVALID, message, file.locate_word(name), hint="choose another name")
            continue
        variables[name] = value if isinstance(value, dict) else _text(value)


def _text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
