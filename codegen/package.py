"""Deployable artifacts of a flow: its functions' code as a zip and a template that points at it.

`flowgen package` reads what `flowgen generate` wrote (the CloudFormation template and the Python
package with the user's services) and writes, into a folder of its own, per flow:

- one zip per Lambda platform its functions run on (Python version and architecture, from each
  function's `Runtime` and `Architectures`): the flow's package with the user's services, and the
  dependencies the generated package declares, installed by pip as wheels for that platform. boto3
  (and botocore and s3transfer, also when a dependency pulls them in) is left out unless asked for:
  the Lambda runtime provides it.
- `template.json`: the generated template with each function's `Code` set to the local path of its
  zip, which is what `aws cloudformation package` uploads (under the MD5 of the file as the object
  key) before `aws cloudformation deploy`.

The zip is deterministic (sorted entries, a fixed timestamp and mode, no bytecode), so the same
inputs give the same bytes, the same object key and no redeploy, and any code change gives a new key.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowgen_design.codegen import ondisk

Json = dict[str, Any]

ARCHITECTURES = ("x86_64", "arm64")
LAMBDA_FUNCTION = "AWS::Lambda::Function"
INLINE_TEMPLATE_LIMIT = 51_200
"""Bytes of a template CloudFormation accepts inline; larger ones go through S3 (`deploy --s3-bucket`)."""
UNZIPPED_CODE_LIMIT = 250 * 1024 * 1024
"""Lambda's limit on a function's unzipped code."""
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
"""Distributions the Lambda Python runtime already has: left out unless asked for."""
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
_MACHINE = {"x86_64": "x86_64", "arm64": "aarch64"}
_PIP_TAIL = 6


class PackageError(Exception):
    """Why a flow cannot be packaged, in one line for the user (no location in a spec)."""


@dataclass(frozen=True, slots=True)
class PackageOptions:
    """Everything `flowgen package` was asked, in one object."""

    out_dir: Path
    """The generated output folder (`flowgen generate --out`)."""
    dist_dir: Path
    """Where the artifacts go: `<dist_dir>/<flow>/`."""
    arch: str | None = None
    """Build every function for this architecture (and say so in the template); None: each its own."""
    native: bool = False
    """Build for the Python and platform running flowgen (for local runs and tests), not for Lambda."""
    include_boto3: bool = False
    requirement_files: tuple[Path, ...] = ()
    """pip requirements files of the user's own dependencies (what their services import)."""


@dataclass(frozen=True, slots=True, order=True)
class Platform:
    """What pip installs wheels for: a Lambda runtime and architecture, or this machine."""

    runtime: str
    arch: str

    @property
    def native(self) -> bool:
        return self.arch == "native"

    @property
    def zip_name(self) -> str:
        return "native.zip" if self.native else f"{self.runtime}-{self.arch}.zip"

    def pip_options(self) -> list[str]:
        if self.native:
            return []
        version = self.runtime.removeprefix("python")
        machine = _MACHINE[self.arch]
        # Python 3.12 and later run on Amazon Linux 2023 (glibc 2.34), earlier ones on Amazon Linux 2 (2.26).
        tags = [f"manylinux_2_28_{machine}"] if _version_tuple(version) >= (3, 12) else []
        platforms = [arg for tag in (*tags, f"manylinux2014_{machine}") for arg in ("--platform", tag)]
        return [*platforms, "--implementation", "cp", "--python-version", version, "--only-binary=:all:"]

    def __str__(self) -> str:
        if self.native:
            return f"this machine's Python {sys.version_info[0]}.{sys.version_info[1]}"
        return f"{self.runtime} {self.arch}"


NATIVE = Platform("native", "native")


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


@dataclass
class Dependencies:
    """The declared dependencies, installed once per platform in a run and shared by every flow."""

    requirements: tuple[str, ...]
    scratch: Path
    requirement_files: tuple[Path, ...] = ()
    announce: Callable[[str], None] = print
    installed: dict[Platform, Path] = field(default_factory=dict)

    def folder(self, platform: Platform) -> Path:
        if platform not in self.installed:
            target = Path(tempfile.mkdtemp(prefix="deps-", dir=self.scratch))
            wanted = [*self.requirements, *(f"-r {path}" for path in self.requirement_files)]
            self.announce(f"installing {', '.join(wanted)} for {platform} (pip)")
            install(self.requirements, platform, target, self.requirement_files)
            left_out = leave_out_runtime_provided(target, self.requirements)
            if left_out:
                self.announce(f"left out {', '.join(left_out)} for {platform}: the Lambda runtime provides them")
            self.installed[platform] = target
        return self.installed[platform]


@dataclass(frozen=True, slots=True)
class Packaged:
    """What packaging one flow wrote."""

    flow: str
    template: Path
    template_bytes: int
    zips: tuple[tuple[Path, int], ...]
    """Each zip written and its unzipped size in bytes."""


# ---- dependencies ----------------------------------------------------------------------------


def requirements(out_dir: Path, include_boto3: bool) -> tuple[str, ...]:
    """The dependencies the generated `python/pyproject.toml` declares, less what Lambda provides."""
    path = out_dir / "python" / "pyproject.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{path} is missing: run `flowgen generate` first") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise PackageError(f"cannot read {path}: {err}") from None
    declared = data.get("project", {}).get("dependencies", [])
    if not isinstance(declared, list) or not all(isinstance(d, str) for d in declared):
        raise PackageError(f"{path}: [project] dependencies must be a list of strings")
    return tuple(d for d in declared if include_boto3 or _distribution(d) not in RUNTIME_PROVIDED)


def _distribution(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return re.sub(r"[-_.]+", "-", match.group(1)).lower() if match else requirement


def install(
    requirements: tuple[str, ...], platform: Platform, target: Path, requirement_files: tuple[Path, ...] = ()
) -> None:
    """`pip install --target` the requirements as wheels for `platform`, without bytecode."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        *platform.pip_options(),
        *requirements,
        *(arg for path in requirement_files for arg in ("--requirement", str(path))),
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    except OSError as err:
        raise PackageError(f"cannot run pip ({sys.executable} -m pip): {err}") from None
    if result.returncode != 0:
        lines = [line.strip() for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        tail = " | ".join(lines[-_PIP_TAIL:]) or f"exit code {result.returncode}"
        raise PackageError(f"pip could not install the dependencies for {platform}: {tail}")


def leave_out_runtime_provided(target: Path, requirements: tuple[str, ...]) -> list[str]:
    """Remove from `target` the distributions the Lambda runtime provides that pip installed only as
    dependencies of others (aws-xray-sdk, the adapters' tracer, requires botocore): a second botocore
    would be megabytes of zip and would shadow the runtime's. Kept when asked for (`--with-boto3`).
    Returns the distributions removed."""
    if {_distribution(r) for r in requirements} & RUNTIME_PROVIDED:
        return []
    removed = []
    for info in sorted(target.glob("*.dist-info")):
        name = _distribution(info.name.split("-", 1)[0])
        if name not in RUNTIME_PROVIDED:
            continue
        record = info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.is_file() else []
        for row in csv.reader(lines):
            path = (target / row[0]).resolve() if row else None
            if path is not None and path.is_relative_to(target.resolve()) and path.is_file():
                path.unlink()
        removed.append(name)
    _remove_empty_folders(target)
    return removed


def _remove_empty_folders(root: Path) -> None:
    for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
        if folder != str(root) and not os.listdir(folder):
            os.rmdir(folder)


# ---- the zip ---------------------------------------------------------------------------------


def _files(root: Path) -> Iterator[Path]:
    """Every file below `root` that belongs in a deployment package: no bytecode, no hidden folders."""
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [d for d in subfolders if d != "__pycache__" and not d.startswith(".")]
        for name in names:  # plain files (a link to one too): a named pipe or a socket is not packaged
            if not name.endswith((".pyc", ".pyo")) and os.path.isfile(os.path.join(folder, name)):
                yield Path(folder) / name


def code_entries(dependencies: Path, packages: Mapping[str, Path]) -> dict[str, Path]:
    """Archive name -> file: the installed dependencies at the root, each package in its folder."""
    entries = {
        name: path
        for path in _files(dependencies)
        # pip's console scripts start with the path of the Python that ran pip: not for Lambda, and not portable
        if not (name := path.relative_to(dependencies).as_posix()).startswith("bin/")
    }
    tops = {name.split("/", 1)[0].removesuffix(".py") for name in entries}
    for package, folder in sorted(packages.items()):
        if package in tops:
            raise PackageError(f"the flow's package `{package}` has the name of one of its dependencies")
        for path in _files(folder):
            entries[f"{package}/{path.relative_to(folder).as_posix()}"] = path
    return entries


def deterministic_zip(entries: Mapping[str, Path]) -> bytes:
    """A zip of `entries` that depends only on their names and contents."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is read on every platform
            info.external_attr = 0o100644 << 16
            archive.writestr(info, ondisk.read_regular(entries[name]))
    return buffer.getvalue()


# ---- the template ----------------------------------------------------------------------------


def functions(template: Json) -> dict[str, Json]:
    """The functions whose code is to be supplied: not inline (`ZipFile`), not a container image,
    not already a local path or an object someone else packaged."""
    resources = template.get("Resources", {})
    return {
        rid: r
        for rid, r in resources.items()
        if isinstance(r, dict) and r.get("Type") == LAMBDA_FUNCTION and _code_to_supply(r)
    }


def _code_to_supply(resource: Json) -> bool:
    code = resource.get("Properties", {}).get("Code")
    return isinstance(code, dict) and not {"ZipFile", "ImageUri"} & set(code) and not isinstance(code.get("S3Key"), str)


def function_platform(rid: str, resource: Json, options: PackageOptions) -> Platform:
    props = resource.get("Properties", {})
    runtime = props.get("Runtime")
    if not isinstance(runtime, str) or not re.fullmatch(r"python3\.\d+", runtime):
        raise PackageError(f"function {rid} has runtime {runtime!r}: only Python runtimes can be packaged")
    if options.native:
        return NATIVE
    declared = props.get("Architectures", ["x86_64"])
    arch = options.arch or (declared[0] if isinstance(declared, list) and declared else "x86_64")
    if arch not in ARCHITECTURES:
        raise PackageError(f"function {rid} has architecture {arch!r}: expected one of {', '.join(ARCHITECTURES)}")
    return Platform(runtime, arch)


def handler_package(rid: str, resource: Json) -> str:
    handler = resource.get("Properties", {}).get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise PackageError(f"function {rid} has no `package.module.function` handler")
    return handler.split(".", 1)[0]


def deployable_template(template: Json, code: Mapping[str, str], arch: str | None) -> Json:
    """The template with each packaged function's `Code` set to its zip's path (relative to the
    template, as `aws cloudformation package` reads it), and parameters nothing refers to any more
    (the code bucket and key) removed."""
    result = copy.deepcopy(template)
    for rid, resource in functions(result).items():
        if rid in code:
            resource["Properties"]["Code"] = code[rid]
            if arch is not None:
                resource["Properties"]["Architectures"] = [arch]
    parameters = result.get("Parameters", {})
    referenced = _references({k: v for k, v in result.items() if k != "Parameters"})
    for name in [p for p in parameters if p not in referenced]:
        del parameters[name]
    if "Parameters" in result and not parameters:
        del result["Parameters"]
    return result


def _references(node: Any) -> set[str]:
    """Every name in a `Ref` or `${Name}` of `Fn::Sub` below `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                found.update(re.findall(r"\$\{([^!}][^}]*)\}", text if isinstance(text, str) else ""))
            found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


# ---- one flow --------------------------------------------------------------------------------


def package_flow(flow: str, template_path: Path, options: PackageOptions, dependencies: Dependencies) -> Packaged:
    """Build `<dist>/<flow>/`: a zip per platform the flow's functions run on, and the template."""
    template = _read_template(template_path)
    destination = _destination(options, flow)
    by_platform: dict[Platform, dict[str, str]] = {}
    for rid, resource in sorted(functions(template).items()):
        by_platform.setdefault(function_platform(rid, resource, options), {})[rid] = handler_package(rid, resource)
    code: dict[str, str] = {}
    zips: list[tuple[Path, int]] = []
    for platform, handlers in sorted(by_platform.items()):
        packages = {name: _package_folder(options.out_dir, name) for name in sorted(set(handlers.values()))}
        entries = code_entries(dependencies.folder(platform), packages)
        unzipped = sum(path.stat().st_size for path in entries.values())
        if unzipped > UNZIPPED_CODE_LIMIT:
            raise PackageError(
                f"the code of flow {flow} for {platform} is {unzipped / 2**20:.0f} MiB unzipped, "
                "over Lambda's 250 MiB limit"
            )
        zips.append((_write(destination / platform.zip_name, deterministic_zip(entries)), unzipped))
        code.update({rid: platform.zip_name for rid in handlers})
    _remove_old_zips(destination, {path.name for path, _ in zips})
    text = json.dumps(deployable_template(template, code, options.arch), indent=2) + "\n"
    data = text.encode("utf-8")
    return Packaged(flow, _write(destination / "template.json", data), len(data), tuple(zips))


def _read_template(path: Path) -> Json:
    try:
        template = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PackageError(f"{path} is missing: run `flowgen generate` first") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise PackageError(f"cannot read {path}: {err}") from None
    if not isinstance(template, dict):
        raise PackageError(f"{path} is not a CloudFormation template")
    return template


def _package_folder(out_dir: Path, package: str) -> Path:
    folder = out_dir / "python" / package
    if not (folder / "__init__.py").is_file():
        raise PackageError(f"{folder} is missing: run `flowgen generate` first")
    return folder


def _destination(options: PackageOptions, flow: str) -> Path:
    """`<dist>/<flow>`, refused where it would overlap the generated output folder."""
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", flow) or flow in (".", ".."):
        raise PackageError(f"refusing to package flow {flow!r}: not a plain folder name")
    destination = (options.dist_dir / flow).resolve()
    out = options.out_dir.resolve()
    if destination == out or out in destination.parents or destination in out.parents:
        raise PackageError(f"the package folder {options.dist_dir} overlaps the generated folder {options.out_dir}")
    return destination


def _write(path: Path, data: bytes) -> Path:
    """Atomically; an unchanged file is left alone, so its modification time stays."""
    try:
        if path.is_file() and path.read_bytes() == data:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        staged = path.with_name(f".{path.name}.tmp")
        staged.write_bytes(data)
        os.replace(staged, path)
    except OSError as err:
        raise PackageError(f"cannot write {path}: {err.strerror or err}") from None
    return path


def _remove_old_zips(destination: Path, keep: set[str]) -> None:
    """Zips of platforms no function runs on any more (the folder is flowgen's own)."""
    for old in destination.glob("*.zip"):
        if old.name not in keep:
            old.unlink()
