"""Your deployment files merged into the generated template: settings first, then extra resources.

The generated template is checked on its own first (a problem there is a flowgen bug); what the
user's files add is checked after merging, and every mistake is a located diagnostic on the file
that makes it (`userfiles.UserFileError`): nothing is written until they are fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from flowgen_design.codegen.aws.plan import Plan
from flowgen_design.codegen.files import GeneratedFile
from flowgen_design.codegen.targets.cloudformation.starters import STARTER, adds_nothing, starter_settings
from flowgen_design.codegen.targets.cloudformation.template import Json, Template
from flowgen_design.codegen.targets.cloudformation.userfiles import (
    UserFile,
    overrides_path,
    raise_problems,
    settings_path,
)
from flowgen_design.dsl.frozen import frozen
from flowgen_design.dsl.model import Flow

if TYPE_CHECKING:  # validating the files needs pydantic: imported only when they add something
    from flowgen_design.codegen.targets.cloudformation.deploy import Settings
    from flowgen_design.codegen.targets.cloudformation.overrides import Overrides


def user_files(flow: Flow) -> list[GeneratedFile]:
    """The two files of yours, created once with a starter content and never overwritten."""
    return [
        GeneratedFile(settings_path(flow), starter_settings(flow), ownership="user"),
        GeneratedFile(overrides_path(flow), STARTER, ownership="user"),
    ]


def customised(t: Template, plan: Plan, out_dir: Path) -> Json | None:
    """The template with the user's settings and extra resources merged in, or None when the files
    add nothing (absent, or as created). Raises `UserFileError` with every mistake found."""
    loaded = load_user_files(plan, out_dir)
    return merge_user_files(t, plan, loaded) if loaded is not None else None


@frozen(kw_only=False)
class UserFiles:
    """The user's two files as read, when they add something to the template."""

    settings_file: UserFile
    overrides_file: UserFile
    settings: Settings
    overrides: Overrides


def load_user_files(plan: Plan, out_dir: Path) -> UserFiles | None:
    """The user's files, or None when they add nothing (absent, or as created): then the template
    is what flowgen generates, which may be built in parts (`parts.py`). Raises `UserFileError`."""
    settings_file = UserFile.read(out_dir, settings_path(plan.flow))
    overrides_file = UserFile.read(out_dir, overrides_path(plan.flow))
    files = [settings_file, overrides_file]
    raise_problems(files)  # unreadable files
    if adds_nothing(settings_file.text, overrides_file.text):
        return None
    from flowgen_design.codegen.targets.cloudformation.deploy import load_settings
    from flowgen_design.codegen.targets.cloudformation.overrides import load_overrides

    settings = load_settings(settings_file, plan.flow)
    overrides = load_overrides(overrides_file)
    raise_problems(files)
    if settings == type(settings)() and overrides == type(overrides)():
        return None
    return UserFiles(settings_file, overrides_file, settings, overrides)


def merge_user_files(t: Template, plan: Plan, loaded: UserFiles) -> Json:
    """The template with the user's settings and extra resources merged in (`t` is changed).
    Raises `UserFileError` with every mistake found."""
    from flowgen_design.codegen.targets.cloudformation.deploy import apply_settings
    from flowgen_design.codegen.targets.cloudformation.overrides import merge_overrides, reference_problems

    files = [loaded.settings_file, loaded.overrides_file]
    apply_settings(t, plan, loaded.settings, loaded.settings_file)
    body = t.as_dict()
    added = merge_overrides(body, loaded.overrides, loaded.overrides_file)
    raise_problems(files)
    reference_problems(body, added, loaded.overrides_file, loaded.settings_file)
    raise_problems(files)
    return body
