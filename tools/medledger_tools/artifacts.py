"""Build the pinned artifacts of versions.yml into one directory with SHA256SUMS and manifest.json.

Roles install only from that directory, the way an air-gapped hospital network installs: every file is
listed with its SHA-256, and the hosts verify what they receive against it. Builds are cached under
``$MEDLEDGER_CACHE`` (default ``~/.cache/medledger``) keyed by the recipe, so a second run costs seconds.
An artifact whose sources the registries refuse is recorded as unavailable, with the registry's answer,
instead of failing the others: the roles then refuse to install it with that reason.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from medledger_tools.paths import REPO_ROOT, cache_dir

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
MAVEN_LOCK = REPO_ROOT / "maven.lock"
DEFAULT_SET = "hosts"

LAUNCHER = """#!/bin/sh
# Runs {main_class} from the jars of this artifact (written by medledger-artifacts).
here=$(dirname "$(readlink -f "$0")")
exec java ${{JAVA_OPTS:-}} -cp "$here/../libs/*" {main_class} "$@"
"""


class ArtifactError(Exception):
    """An artifact could not be built; the message is one line meant for the operator."""


@dataclass(frozen=True)
class Recipe:
    """One recipe of versions.yml. `name` is an artifact's (its default release) or `<artifact>@<version>`
    (another release of it, which an inventory picks with common_artifact_versions)."""

    name: str
    spec: dict[str, Any]

    @property
    def artifact(self) -> str:
        return self.name.split("@", 1)[0]

    @property
    def version(self) -> str:
        return str(self.spec["version"])

    @property
    def set(self) -> str:
        """Which `make` target builds it: `hosts` (make artifacts: what the playbooks install) or another set
        (`kubernetes`: the cluster's own components, built by make k8s-artifacts)."""
        return str(self.spec.get("set", DEFAULT_SET))

    @property
    def root(self) -> str:
        return f"{self.artifact}-{self.version}"

    @property
    def key(self) -> str:
        """Changes whenever anything that shapes the artifact changes, our own sources included."""
        local = [tree_digest(REPO_ROOT / go["local"]) for go in self.spec.get("go", []) if "local" in go]
        if "python" in self.spec:
            local.append(tracked_digest(self.spec["python"]["sources"]))
        text = json.dumps([self.name, self.spec, LAUNCHER, local], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_recipes(path: Path) -> list[Recipe]:
    """The recipes, refusing a release whose name and version disagree or whose artifact has no default."""
    recipes = [Recipe(name, spec) for name, spec in yaml.safe_load(path.read_text()).items()]
    defaults = {recipe.name: recipe for recipe in recipes if "@" not in recipe.name}
    for recipe in recipes:
        if "@" not in recipe.name:
            continue
        if recipe.name != f"{recipe.artifact}@{recipe.version}":
            raise ArtifactError(f"{path.name}: recipe {recipe.name} builds version {recipe.version}; name it "
                                f"{recipe.artifact}@{recipe.version}")  # fmt: skip
        if recipe.artifact not in defaults:
            raise ArtifactError(f"{path.name}: recipe {recipe.name} is a release of {recipe.artifact}, which has "
                                "no recipe of its own (the default release)")  # fmt: skip
        if defaults[recipe.artifact].version == recipe.version:
            raise ArtifactError(f"{path.name}: recipe {recipe.name} builds the default release of {recipe.artifact}")
    return recipes


def release_name(artifact: str, versions: dict[str, Any], releases: dict[str, Any]) -> str:
    """The manifest's name for the release of `artifact` an inventory picks (common_artifact_versions, a
    version per artifact): the artifact's own name for its default release or when none is picked,
    `<artifact>@<version>` for another (which the manifest may lack: the preflight refuses that)."""
    wanted = versions.get(artifact)
    if wanted is None or str(releases.get(artifact, {}).get("version")) == str(wanted):
        return artifact
    return f"{artifact}@{wanted}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def progress(message: str) -> None:
    print(f"artifacts: {message}", file=sys.stderr, flush=True)


def run(command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in (result.stderr or result.stdout).splitlines() if line.strip()]
        tail = " | ".join(lines[-3:]) if lines else f"exit code {result.returncode}"
        raise ArtifactError(f"{' '.join(command[:3])}: {tail}")
    return result.stdout


# --- Go ------------------------------------------------------------------------------------------


def go_module_dir(module: str, version: str) -> Path:
    """Download a module through the Go module proxy (checked against the checksum database)."""
    # On failure `go mod download -json` still prints JSON, whose Error is the proxy's own answer.
    result = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True, check=False
    )
    try:
        info = json.loads(result.stdout)
    except json.JSONDecodeError:
        info = {"Error": result.stderr.strip() or f"exit code {result.returncode}"}
    if info.get("Error") or result.returncode != 0:
        reason = " ".join(str(info.get("Error", result.stderr)).split())
        raise ArtifactError(f"go mod download {module}@{version}: {reason}")
    return Path(info["Dir"])


def tree_digest(tree: Path) -> str:
    digest = hashlib.sha256()
    for path in tree_files(tree):
        digest.update(f"{path.relative_to(tree)}\0{sha256_file(path)}\0".encode())
    return digest.hexdigest()


def tracked_files(paths: list[str]) -> list[str]:
    """The repository's tracked files under `paths`: what a fresh clone has, without caches such as __pycache__."""
    return sorted(filter(None, run(["git", "ls-files", "-z", "--", *paths], cwd=REPO_ROOT).split("\0")))


def tracked_digest(paths: list[str]) -> str:
    digest = hashlib.sha256()
    for name in tracked_files(paths):
        digest.update(f"{name}\0{sha256_file(REPO_ROOT / name)}\0".encode())
    return digest.hexdigest()


def wrapper_go_mod(module: str, version: str, source: Path, published: str, packages: list[str]) -> str:
    """The go.mod of a module that builds `module`'s commands from outside its repository.

    Some modules (Kubernetes' staging modules, etcd's api, client and pkg) are replaced in their
    repository's go.mod by folders of that repository, which a module download lacks: the wrapper requires
    the module and points each such replacement at the release published beside it (`published`)."""
    edited = json.loads(run(["go", "mod", "edit", "-json", str(source / "go.mod")]))
    local = sorted(
        entry["Old"]["Path"]
        for entry in edited.get("Replace") or []
        if entry["New"]["Path"].startswith(".") and not entry["New"].get("Version")
    )
    if not local:
        raise ArtifactError(f"{module}@{version}: its go.mod replaces no module with a folder; build it in place")
    lines = ["module medledger.build/wrapper", "", f"go {edited['Go']}", "", f"require {module} {version}", ""]
    lines += [f"replace {path} => {path} {published}" for path in local]
    lines += ["", *(f"tool {go_package(module, package)}" for package in packages), ""]
    return "\n".join(lines)


def go_package(module: str, package: str) -> str:
    return module if package == "." else f"{module}/{package}"


def build_go(spec: dict[str, Any], tree: Path) -> None:
    """Build a module's commands: a pinned module from the proxy, or one of ours (`local`: its folder,
    whose go.sum pins its dependencies). With `published_replacements`, from a wrapper module
    (wrapper_go_mod). `rename` renames built commands: a module path ending in /v3 names its command after
    the element before it."""
    if "published_replacements" in spec:
        build_go_wrapped(spec, tree)
    else:
        build_go_in_place(spec, tree)
    for built, name in spec.get("rename", {}).items():
        (tree / spec.get("bin_dir", "bin") / built).rename(tree / spec.get("bin_dir", "bin") / name)


def go_build_command(spec: dict[str, Any], bin_dir: Path, packages: list[str]) -> list[str]:
    ldflags = f"-s -w {spec.get('ldflags', '')}".strip()
    return ["go", "build", "-trimpath", "-ldflags", ldflags, "-o", str(bin_dir), *packages]


def build_go_wrapped(spec: dict[str, Any], tree: Path) -> None:
    module, version = spec["module"], spec["version"]
    source = go_module_dir(module, version)
    bin_dir = tree / spec.get("bin_dir", "bin")
    bin_dir.mkdir(parents=True, exist_ok=True)
    packages = [go_package(module, package) for package in spec["packages"]]
    with tempfile.TemporaryDirectory() as work:
        workdir = Path(work)
        go_mod = wrapper_go_mod(module, version, source, spec["published_replacements"], spec["packages"])
        (workdir / "go.mod").write_text(go_mod)
        env = dict(os.environ, CGO_ENABLED="1" if spec.get("cgo") else "0", GOFLAGS="-mod=mod")
        progress(f"go mod tidy: a wrapper module for {module}@{version}")
        run(["go", "mod", "tidy"], cwd=workdir, env=env)
        progress(f"go build {module}@{version}: {len(packages)} command(s) (tens of minutes when cold)")
        run(go_build_command(spec, bin_dir, packages), cwd=workdir, env=env)
    for program, how in spec.get("c_programs", {}).items():
        output = tree / how["output"]
        output.parent.mkdir(parents=True, exist_ok=True)
        run(["gcc", *how["cflags"].split(), "-o", str(output), str(source / program)])


def build_go_in_place(spec: dict[str, Any], tree: Path) -> None:
    if "local" in spec:
        module, version, source = spec["local"], "(this repository)", REPO_ROOT / spec["local"]
    else:
        module, version = spec["module"], spec["version"]
        source = go_module_dir(module, version)
    bin_dir = tree / spec.get("bin_dir", "bin")
    bin_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        # Build inside a writable copy: module cache trees are read-only, and building there (rather
        # than `go install pkg@version`) also works when a release's go.mod carries replace directives.
        workdir = Path(work) / "src"
        shutil.copytree(source, workdir)
        for path in workdir.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        # A release's go.sum may lack entries a newer toolchain wants (-mod=mod); ours must be complete.
        go_flags = "-mod=readonly" if "local" in spec else "-mod=mod"
        env = dict(os.environ, CGO_ENABLED="1" if spec.get("cgo") else "0", GOFLAGS=go_flags)
        packages = [f"./{package}" for package in spec["packages"]]
        progress(f"go build {module}@{version}: {len(packages)} command(s) (minutes when cold)")
        run(go_build_command(spec, bin_dir, packages), cwd=workdir, env=env)
        for source_file, dest in spec.get("copy", {}).items():
            (tree / dest).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(workdir / source_file, tree / dest)


# --- Python --------------------------------------------------------------------------------------

# The hosts' interpreter: Debian 12's python3 on x86_64.
PYTHON_TARGET = ["--python-version", "3.11", "--implementation", "cp", "--platform", "manylinux2014_x86_64",
                 "--platform", "linux_x86_64"]  # fmt: skip


def build_python(spec: dict[str, Any], tree: Path) -> None:
    """This repository's package and its runtime dependencies (uv.lock, without the control node's and the
    developers' groups) as wheels, with a requirements file naming each by its SHA-256: hosts install with
    `pip install --no-index --require-hashes`. Packages under a copyleft licence ship their source too."""
    wheels = tree / "wheels"
    wheels.mkdir(parents=True)
    requirements = run(
        ["uv", "export", "--frozen", "--no-default-groups", "--no-emit-project", "--format", "requirements-txt"],
        cwd=REPO_ROOT,
    )
    progress(f"python: our wheel and {requirements.count('==')} pinned dependencies")
    with tempfile.TemporaryDirectory() as work:
        # From the tracked files only, and away from the checkout: setuptools writes build/ where it builds.
        source = Path(work) / "source"
        for name in tracked_files([*spec["sources"], "README.md", "LICENSE"]):
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO_ROOT / name, source / name)
        run(["uv", "build", "--wheel", "--out-dir", str(wheels), str(source)], cwd=source)
    (own,) = wheels.glob("*.whl")
    pinned = tree / "requirements.txt"
    pinned.write_text(f"{requirements}{spec['package']}=={own.name.split('-')[1]} --hash=sha256:{sha256_file(own)}\n")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--quiet"]
    run([*pip, "--only-binary=:all:", *PYTHON_TARGET, "--no-deps", "--require-hashes", "-r", str(pinned),
         "--find-links", str(wheels), "-d", str(wheels)])  # fmt: skip
    for name in spec.get("source_distributions", []):
        download_source_distribution(name, tree / "sources")


def download_source_distribution(name: str, folder: Path) -> None:
    """The source archive uv.lock pins for `name`, checked against the lock's SHA-256."""
    locked = tomllib.loads((REPO_ROOT / "uv.lock").read_text())
    (package,) = [entry for entry in locked["package"] if entry["name"] == name]
    url, expected = package["sdist"]["url"], package["sdist"]["hash"].removeprefix("sha256:")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / url.rsplit("/", 1)[1]
    try:
        with urllib.request.urlopen(url, timeout=120) as answer:  # noqa: S310  (the lock's https URL)
            target.write_bytes(answer.read())
    except OSError as error:
        raise ArtifactError(f"downloading {url}: {error}") from None
    if sha256_file(target) != expected:
        raise ArtifactError(f"{target.name} has not the SHA-256 uv.lock pins ({expected})")


# --- Maven ---------------------------------------------------------------------------------------


def maven_pom(coordinates: list[str]) -> str:
    dependencies = []
    for coordinate in coordinates:
        group, artifact, version = coordinate.split(":")
        dependencies.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        "<groupId>org.medledger</groupId><artifactId>artifact</artifactId><version>1</version>"
        f"<packaging>pom</packaging><dependencies>{''.join(dependencies)}</dependencies></project>"
    )


def read_maven_lock() -> dict[str, str]:
    if not MAVEN_LOCK.exists():
        return {}
    lock: dict[str, str] = {}
    for line in MAVEN_LOCK.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            digest, name = line.split()
            lock[name] = digest
    return lock


def build_maven(recipe: Recipe, tree: Path, lock: dict[str, str] | None) -> dict[str, str]:
    """Resolve jars with Maven (strict repository checksums), then check them against maven.lock.

    Returns the jars' digests, keyed ``<artifact>/<jar>``, for the lock. ``lock`` None means: write
    mode, accept what Maven resolved (``make artifacts-lock``).
    """
    libs = tree / "libs"
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "pom.xml").write_text(maven_pom(recipe.spec["maven"]))
        progress(f"maven: resolving {recipe.root} ({len(recipe.spec['maven'])} coordinates)")
        run(
            [
                "mvn",
                "-q",
                "-B",
                "-C",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={libs}",
            ],
            cwd=Path(work),
        )
    digests = {f"{recipe.name}/{jar.name}": sha256_file(jar) for jar in sorted(libs.glob("*.jar"))}
    if lock is not None:
        expected = {name: digest for name, digest in lock.items() if name.startswith(f"{recipe.name}/")}
        if not expected:
            raise ArtifactError(f"{recipe.name}: not in maven.lock; run `make artifacts-lock`")
        changed = sorted(name for name in digests.keys() | expected.keys() if digests.get(name) != expected.get(name))
        if changed:
            raise ArtifactError(
                f"{recipe.name}: {len(changed)} jar(s) differ from maven.lock: {', '.join(changed[:3])}"
            )
    bin_dir = tree / "bin"
    bin_dir.mkdir()
    classes = {name for jar in libs.glob("*.jar") for name in zipfile.ZipFile(jar).namelist()}
    for launcher, main_class in recipe.spec.get("launchers", {}).items():
        if main_class.replace(".", "/") + ".class" not in classes:
            raise ArtifactError(f"{recipe.name}: launcher {launcher}: no class {main_class} in the artifact's jars")
        script = bin_dir / launcher
        script.write_text(LAUNCHER.format(main_class=main_class))
        script.chmod(0o755)
    return digests


# --- Assembly ------------------------------------------------------------------------------------


def tree_files(tree: Path) -> Iterator[Path]:
    return (path for path in sorted(tree.rglob("*")) if path.is_file())


def deterministic_tarball(tree: Path, tarball: Path) -> None:
    """Same content, same bytes: owners, times and order are fixed so the digest is stable."""

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = "root"
        info.mtime = 0
        info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
        return info

    with (
        tarball.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped,
        tarfile.open(fileobj=zipped, mode="w") as archive,
    ):
        for path in [tree, *sorted(tree.rglob("*"))]:
            archive.add(path, arcname=str(path.relative_to(tree.parent)), recursive=False, filter=normalise)


def build(recipe: Recipe, lock: dict[str, str] | None) -> tuple[Path, dict[str, str]]:
    """Build one recipe into the cache; returns the cached tarball and jar digests (Maven)."""
    cached = cache_dir() / "artifacts" / recipe.key / f"{recipe.root}.tar.gz"
    if cached.exists() and lock is not None:
        return cached, {}
    with tempfile.TemporaryDirectory() as work:
        tree = Path(work) / recipe.root
        tree.mkdir()
        digests: dict[str, str] = {}
        for go_spec in recipe.spec.get("go", []):
            build_go(go_spec, tree)
        if "python" in recipe.spec:
            build_python(recipe.spec["python"], tree)
        if "maven" in recipe.spec:
            digests = build_maven(recipe, tree, lock)
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        deterministic_tarball(tree, partial)
        partial.rename(cached)
    return cached, digests


def install(recipe: Recipe, tarball: Path, out: Path) -> dict[str, Any]:
    """Unpack a cached tarball into the artifact directory; returns its manifest entry."""
    target = out / tarball.name
    if not target.exists() or sha256_file(target) != sha256_file(tarball):
        shutil.copyfile(tarball, target)
    shutil.rmtree(out / recipe.root, ignore_errors=True)
    with tarfile.open(target) as archive:
        archive.extractall(out, filter="data")
    tree = out / recipe.root
    return {
        "artifact": recipe.artifact,
        "version": recipe.version,
        "tarball": target.name,
        "sha256": sha256_file(target),
        "root": recipe.root,
        "files": {str(path.relative_to(tree)): sha256_file(path) for path in tree_files(tree)},
        "version_check": recipe.spec.get("version_check", []),
    }


def write_outputs(out: Path, manifest: dict[str, Any]) -> None:
    sums = []
    for entry in manifest["artifacts"].values():
        sums.append(f"{entry['sha256']}  {entry['tarball']}")
        sums.extend(f"{digest}  {entry['root']}/{name}" for name, digest in entry["files"].items())
    (out / SUMS).write_text("\n".join(sums) + "\n")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def make_artifacts(versions: Path, out: Path, only: list[str], artifact_set: str = DEFAULT_SET) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    recipes = load_recipes(versions)
    manifest: dict[str, Any] = {"artifacts": {}, "unavailable": {}}
    if (out / MANIFEST).exists():
        # Rebuilding some artifacts, or one set, keeps the others' entries.
        previous = json.loads((out / MANIFEST).read_text())
        kept = {recipe.name for recipe in recipes if only or recipe.set != artifact_set}
        manifest = {part: {name: entry for name, entry in previous.get(part, {}).items() if name in kept}
                    for part in manifest}  # fmt: skip
    lock = read_maven_lock()
    for recipe in recipes:
        if recipe.set != artifact_set or (only and recipe.artifact not in only and recipe.name not in only):
            continue
        try:
            tarball, _ = build(recipe, lock)
        except ArtifactError as error:
            progress(f"{recipe.root}: UNAVAILABLE: {error}")
            manifest["artifacts"].pop(recipe.name, None)
            manifest["unavailable"][recipe.name] = {"version": recipe.version, "reason": str(error)}
            continue
        manifest["unavailable"].pop(recipe.name, None)
        manifest["artifacts"][recipe.name] = install(recipe, tarball, out)
        progress(f"{recipe.root}: ok")
    write_outputs(out, manifest)
    return manifest


def write_maven_lock(versions: Path) -> None:
    lines = ["# sha256 of every jar the Maven artifacts resolve to; written by `make artifacts-lock`."]
    for recipe in load_recipes(versions):
        if "maven" in recipe.spec:
            _, digests = build(recipe, None)
            lines.extend(f"{digest}  {name}" for name, digest in sorted(digests.items()))
    MAVEN_LOCK.write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="medledger-artifacts", description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=Path, default=REPO_ROOT / "versions.yml")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("ARTIFACTS_DIR", "artifacts")))
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        help="build only these artifacts (every release of each) or releases (name@version)",
    )
    parser.add_argument(
        "--set", default=DEFAULT_SET, help=f"the set of recipes to build (default {DEFAULT_SET}: what hosts install)"
    )
    parser.add_argument("--lock", action="store_true", help="rewrite maven.lock from what Maven resolves")
    args = parser.parse_args(argv)
    try:
        if args.lock:
            write_maven_lock(args.versions)
            return 0
        manifest = make_artifacts(args.versions, args.out, args.only, args.set)
    except ArtifactError as error:
        print(f"artifacts: error: {error}", file=sys.stderr)
        return 1
    built = ", ".join(f"{name.split('@')[0]} {entry['version']}" for name, entry in manifest["artifacts"].items())
    progress(f"built: {built or 'nothing'}; manifest {args.out / MANIFEST}")
    for name, entry in manifest["unavailable"].items():
        progress(f"unavailable: {name} {entry['version']} ({entry['reason']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
