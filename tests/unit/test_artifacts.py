"""The artifact builder: stable tarballs, a manifest that sha256sum can check, refusals with their reason."""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from medledger_tools import artifacts
from medledger_tools.artifacts import ArtifactError, Recipe
from medledger_tools.paths import REPO_ROOT


def make_tree(root: Path, mtime: int) -> Path:
    tree = root / "demo-1.0"
    (tree / "bin").mkdir(parents=True)
    (tree / "bin" / "tool").write_text("#!/bin/sh\necho 1.0\n")
    (tree / "bin" / "tool").chmod(0o755)
    (tree / "README").write_text("demo\n")
    for path in [tree, *tree.rglob("*")]:
        os.utime(path, (mtime, mtime))
    return tree


def test_tarball_bytes_depend_on_content_only(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    artifacts.deterministic_tarball(make_tree(first, 1_000), tmp_path / "a.tar.gz")
    artifacts.deterministic_tarball(make_tree(second, 2_000_000), tmp_path / "b.tar.gz")
    assert artifacts.sha256_file(tmp_path / "a.tar.gz") == artifacts.sha256_file(tmp_path / "b.tar.gz")
    (second / "demo-1.0" / "README").write_text("changed\n")
    artifacts.deterministic_tarball(second / "demo-1.0", tmp_path / "c.tar.gz")
    assert artifacts.sha256_file(tmp_path / "c.tar.gz") != artifacts.sha256_file(tmp_path / "a.tar.gz")


def test_unavailable_artifact_is_recorded_and_others_still_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions.yml"
    versions.write_text("demo:\n  version: '1.0'\nblocked:\n  version: '2.0'\n")
    tarball = tmp_path / "demo-1.0.tar.gz"
    artifacts.deterministic_tarball(make_tree(tmp_path / "src", 0), tarball)

    def fake_build(recipe: Recipe, _lock: Any) -> tuple[Path, dict[str, str]]:
        if recipe.name == "blocked":
            raise ArtifactError("go mod download example.org/blocked@v2.0: 403 Forbidden")
        return tarball, {}

    monkeypatch.setattr(artifacts, "build", fake_build)
    out = tmp_path / "out"
    manifest = artifacts.make_artifacts(versions, out, only=[])
    assert manifest["unavailable"] == {
        "blocked": {"version": "2.0", "reason": "go mod download example.org/blocked@v2.0: 403 Forbidden"}
    }
    assert set(manifest["artifacts"]["demo"]["files"]) == {"bin/tool", "README"}
    assert json.loads((out / "manifest.json").read_text()) == manifest
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, capture_output=True, check=False)
    assert check.returncode == 0, check.stdout
    rebuilt = artifacts.make_artifacts(versions, out, only=["blocked"])
    assert set(rebuilt["artifacts"]) == {"demo"}, "--only keeps the other artifacts' entries"
    (out / "demo-1.0" / "README").write_text("tampered\n")
    check = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=out, capture_output=True, check=False)
    assert check.returncode != 0


def test_proxy_refusal_becomes_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = {
        "Path": "github.com/hyperledger/fabric",
        "Error": "reading https://proxy.golang.org/...: 403 Forbidden\n\tserver response: not available.",
    }

    def fake_run(*_args: Any, **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess([], 1, stdout=json.dumps(answer), stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    with pytest.raises(ArtifactError) as caught:
        artifacts.go_module_dir("github.com/hyperledger/fabric", "v1.4.0-rc1.0.20260617221605-f871cf92a026")
    assert str(caught.value) == (
        "go mod download github.com/hyperledger/fabric@v1.4.0-rc1.0.20260617221605-f871cf92a026: "
        "reading https://proxy.golang.org/...: 403 Forbidden server response: not available."
    )


def fake_maven(command: list[str], **_kwargs: Any) -> str:
    """Maven's dependency:copy, leaving one jar holding the class x.Main."""
    libs = Path(next(arg for arg in command if arg.startswith("-DoutputDirectory=")).split("=", 1)[1])
    libs.mkdir(parents=True)
    with zipfile.ZipFile(libs / "demo-1.0.jar", "w") as jar:
        jar.writestr(zipfile.ZipInfo("x/Main.class", date_time=(2020, 1, 1, 0, 0, 0)), b"class bytes")
    return ""


def test_launchers_must_name_a_class_in_the_jars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "run", fake_maven)
    recipe = Recipe("demo", {"version": "1.0", "maven": ["org.example:demo:1.0"], "launchers": {"demo": "x.Other"}})
    with pytest.raises(ArtifactError, match=r"^demo: launcher demo: no class x\.Other in the artifact's jars$"):
        artifacts.build_maven(recipe, tmp_path / "write", lock=None)


def test_jars_must_match_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(artifacts, "run", fake_maven)
    recipe = Recipe("demo", {"version": "1.0", "maven": ["org.example:demo:1.0"], "launchers": {"demo": "x.Main"}})
    digest = artifacts.build_maven(recipe, tmp_path / "write", lock=None)["demo/demo-1.0.jar"]
    assert (tmp_path / "write" / "bin" / "demo").read_text().count("x.Main") == 2
    artifacts.build_maven(recipe, tmp_path / "ok", lock={"demo/demo-1.0.jar": digest})
    with pytest.raises(ArtifactError, match=r"demo: 1 jar\(s\) differ from maven.lock: demo/demo-1.0.jar$"):
        artifacts.build_maven(recipe, tmp_path / "bad", lock={"demo/demo-1.0.jar": "0" * 64})
    with pytest.raises(ArtifactError, match=r"demo: not in maven\.lock; run `make artifacts-lock`"):
        artifacts.build_maven(recipe, tmp_path / "none", lock={"other/x.jar": digest})


def test_recipe_key_follows_the_pin() -> None:
    assert Recipe("kafka", {"version": "3.9.2"}).key != Recipe("kafka", {"version": "3.9.1"}).key
    assert Recipe("kafka", {"version": "3.9.2"}).key == Recipe("kafka", {"version": "3.9.2"}).key


def test_another_release_of_an_artifact_is_listed_beside_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions.yml"
    versions.write_text("demo:\n  version: '1.0'\ndemo@0.9:\n  version: '0.9'\n")
    trees = {version: make_tree(tmp_path / version, 0) for version in ("1.0", "0.9")}
    trees["0.9"] = trees["0.9"].rename(trees["0.9"].with_name("demo-0.9"))

    def fake_build(recipe: Recipe, _lock: Any) -> tuple[Path, dict[str, str]]:
        tarball = tmp_path / f"{recipe.root}.tar.gz"
        artifacts.deterministic_tarball(trees[recipe.version], tarball)
        return tarball, {}

    monkeypatch.setattr(artifacts, "build", fake_build)
    manifest = artifacts.make_artifacts(versions, tmp_path / "out", only=["demo"])
    releases = {
        name: (entry["artifact"], entry["version"], entry["root"]) for name, entry in manifest["artifacts"].items()
    }
    assert releases == {"demo": ("demo", "1.0", "demo-1.0"), "demo@0.9": ("demo", "0.9", "demo-0.9")}


@pytest.mark.parametrize(
    ("recipes", "refusal"),
    [
        (
            "demo:\n  version: '1.0'\ndemo@0.8:\n  version: '0.9'\n",
            r"recipe demo@0\.8 builds version 0\.9; name it demo@0\.9",
        ),
        (
            "other:\n  version: '1.0'\ndemo@0.9:\n  version: '0.9'\n",
            r"demo@0\.9 is a release of demo, which has no recipe",
        ),
        (
            "demo:\n  version: '1.0'\ndemo@1.0:\n  version: '1.0'\n",
            r"recipe demo@1\.0 builds the default release of demo",
        ),
    ],
)
def test_a_release_recipe_that_names_another_version_or_no_artifact_is_refused(
    tmp_path: Path, recipes: str, refusal: str
) -> None:
    versions = tmp_path / "versions.yml"
    versions.write_text(recipes)
    with pytest.raises(ArtifactError, match=refusal):
        artifacts.load_recipes(versions)


def test_the_repositorys_fabric_releases_differ_only_in_their_pin() -> None:
    recipes = {recipe.name: recipe for recipe in artifacts.load_recipes(REPO_ROOT / "versions.yml")}
    default, earlier = recipes["fabric"].spec["go"][0], recipes["fabric@2.5.0"].spec["go"][0]
    assert earlier["packages"] == default["packages"] and earlier["copy"] == default["copy"]
    assert "Version=2.5.0" in earlier["ldflags"] and earlier["version"].endswith("-bd8e24856939")


def test_an_inventory_picks_a_release_by_version() -> None:
    releases = {"fabric": {"version": "2.5.9"}, "fabric@2.5.0": {"version": "2.5.0"}, "kafka": {"version": "3.9.2"}}
    assert artifacts.release_name("fabric", {"fabric": "2.5.0"}, releases) == "fabric@2.5.0"
    assert artifacts.release_name("fabric", {"fabric": "2.5.9"}, releases) == "fabric"
    assert artifacts.release_name("kafka", {"fabric": "2.5.0"}, releases) == "kafka"
    assert artifacts.release_name("fabric", {"fabric": "2.5.1"}, releases) == "fabric@2.5.1", "refused by preflight"


def test_each_set_is_built_by_its_own_command_and_keeps_the_others_entries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    versions = tmp_path / "versions.yml"
    versions.write_text("demo:\n  version: '1.0'\ncluster:\n  version: '2.0'\n  set: kubernetes\n")
    built: list[str] = []

    def fake_build(recipe: Recipe, _lock: Any) -> tuple[Path, dict[str, str]]:
        built.append(recipe.name)
        tarball = tmp_path / f"{recipe.root}.tar.gz"
        if not tarball.exists():
            tree = make_tree(tmp_path / recipe.name, 0).rename(tmp_path / recipe.name / recipe.root)
            artifacts.deterministic_tarball(tree, tarball)
        return tarball, {}

    monkeypatch.setattr(artifacts, "build", fake_build)
    out = tmp_path / "out"
    assert set(artifacts.make_artifacts(versions, out, only=[])["artifacts"]) == {"demo"}
    assert set(artifacts.make_artifacts(versions, out, only=[], artifact_set="kubernetes")["artifacts"]) == {
        "demo",
        "cluster",
    }
    assert set(artifacts.make_artifacts(versions, out, only=[])["artifacts"]) == {"demo", "cluster"}
    assert built == ["demo", "cluster", "demo"]


def test_a_wrapper_points_each_folder_replacement_at_its_published_release(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text(
        "module example.org/big\n\ngo 1.26.0\n\nrequire example.org/api v0.0.0\n\n"
        "replace (\n\texample.org/api => ./staging/api\n\texample.org/pinned => example.org/fork v1.2.3\n)\n"
    )
    go_mod = artifacts.wrapper_go_mod("example.org/big", "v1.3.0", tmp_path, "v0.3.0", ["cmd/server", "."])
    assert "require example.org/big v1.3.0" in go_mod
    assert "replace example.org/api => example.org/api v0.3.0" in go_mod
    assert "example.org/pinned" not in go_mod, "a replacement by another module is not the wrapper's business"
    assert "tool example.org/big/cmd/server" in go_mod and "tool example.org/big\n" in go_mod
    assert "go 1.26.0" in go_mod
    (tmp_path / "go.mod").write_text("module example.org/small\n\ngo 1.26.0\n")
    with pytest.raises(ArtifactError, match="replaces no module with a folder"):
        artifacts.wrapper_go_mod("example.org/small", "v1.0.0", tmp_path, "v0.1.0", ["."])


def test_the_repositorys_kubernetes_recipes_are_built_apart_from_the_hosts() -> None:
    recipes = {recipe.name: recipe for recipe in artifacts.load_recipes(REPO_ROOT / "versions.yml")}
    kubernetes = recipes["kubernetes"].spec["go"][0]
    assert {recipes[name].set for name in ("kubernetes", "etcd", "coredns")} == {"kubernetes"}
    assert recipes["fabric"].set == "hosts"
    staging = kubernetes["published_replacements"]
    assert staging == "v0." + recipes["kubernetes"].version.split(".", 1)[1], "staging modules follow the release"
    assert f"gitVersion=v{recipes['kubernetes'].version}" in kubernetes["ldflags"]
