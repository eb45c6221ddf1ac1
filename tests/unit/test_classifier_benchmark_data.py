"""Where benchmarks/classifier.py finds its labelled data: --data, $COMPLAINT_BOT_DATA,
../shared/data beside the checkout (or beside the main checkout of a worktree), then
beside the local checkout a clone's origin remote points to. Real git clones in tmp_path,
no network."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("benchmark_classifier", ROOT / "benchmarks" / "classifier.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def git(*args: str, cwd: Path | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env |= {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
    )


def repository(path: Path) -> Path:
    path.mkdir(parents=True)
    git("init", "-q", str(path))
    (path / "README.md").write_text("x\n")
    git("add", "README.md", cwd=path)
    git("commit", "-q", "-m", "first", cwd=path)
    return path


def data_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    for name in ("complaints_dev.json", "complaints_train.json"):
        (path / name).write_text("[]")
    return path


def clone(source: Path | str, target: Path) -> Path:
    git("clone", "-q", str(source), str(target))
    return target


def test_a_clone_elsewhere_finds_the_data_beside_its_origin(bench: ModuleType, tmp_path: Path) -> None:
    main = repository(tmp_path / "work" / "main")
    data = data_folder(tmp_path / "work" / "shared" / "data")
    copy = clone(main, tmp_path / "elsewhere" / "x")
    found = bench.find_data(None, {}, copy)
    assert found.folder == data
    assert any("elsewhere" in place and "no such folder" in place for place in found.looked)


def test_a_clone_of_a_clone_follows_the_chain(bench: ModuleType, tmp_path: Path) -> None:
    main = repository(tmp_path / "work" / "main")
    data = data_folder(tmp_path / "work" / "shared" / "data")
    first = clone(main, tmp_path / "a" / "first")
    second = clone(f"file://{first}", tmp_path / "b" / "second")
    assert bench.find_data(None, {}, second).folder == data


def test_a_worktree_and_a_clone_of_it_find_the_data_beside_the_main_checkout(
    bench: ModuleType, tmp_path: Path
) -> None:
    main = repository(tmp_path / "work" / "main")
    data = data_folder(tmp_path / "work" / "shared" / "data")
    worktree = tmp_path / "work" / "wt" / "bench"
    git("worktree", "add", "-q", "-b", "bench", str(worktree), cwd=main)
    assert bench.find_data(None, {}, worktree).folder == data
    copy = clone(worktree, tmp_path / "tmp" / "bench-clone")
    assert bench.find_data(None, {}, copy).folder == data


def test_the_data_beside_the_repository_comes_before_the_origin(bench: ModuleType, tmp_path: Path) -> None:
    main = repository(tmp_path / "work" / "main")
    data_folder(tmp_path / "work" / "shared" / "data")
    copy = clone(main, tmp_path / "other" / "x")
    own = data_folder(tmp_path / "other" / "shared" / "data")
    assert bench.find_data(None, {}, copy).folder == own


def test_option_then_environment_and_neither_is_passed_over(bench: ModuleType, tmp_path: Path) -> None:
    main = repository(tmp_path / "work" / "main")
    beside = data_folder(tmp_path / "work" / "shared" / "data")
    option = data_folder(tmp_path / "option")
    environment = data_folder(tmp_path / "environment")
    env = {"COMPLAINT_BOT_DATA": str(environment)}
    assert bench.find_data(option, env, main).folder == option
    assert bench.find_data(None, env, main).folder == environment
    assert bench.find_data(None, {"COMPLAINT_BOT_DATA": ""}, main).folder == beside

    (environment / "complaints_train.json").unlink()
    wrong = bench.find_data(None, env, main)
    assert wrong.folder is None
    assert wrong.looked == ["--data: not given", f"COMPLAINT_BOT_DATA {environment}: no complaints_train.json"]
    missing = bench.find_data(tmp_path / "nowhere", env, main)
    assert missing.folder is None and missing.looked == [f"--data {tmp_path / 'nowhere'}: no such folder"]


@pytest.mark.parametrize("url", ["https://github.com/o/complaint-bot.git", "git@github.com:o/complaint-bot.git"])
def test_a_remote_origin_is_not_followed_and_the_message_says_where_it_looked(
    bench: ModuleType, tmp_path: Path, url: str
) -> None:
    data_folder(tmp_path / "shared" / "data")  # beside the remote's name, never to be found
    copy = repository(tmp_path / "elsewhere" / "x")
    git("remote", "add", "origin", url, cwd=copy)
    found = bench.find_data(None, {}, copy)
    assert found.folder is None
    message = found.explain()
    assert f"{tmp_path / 'elsewhere' / 'shared' / 'data'}" in message
    assert f"{url} is not a local path" in message
    assert "--data DIR" in message and "COMPLAINT_BOT_DATA=DIR" in message


def test_a_checkout_without_origin_or_git(bench: ModuleType, tmp_path: Path) -> None:
    alone = repository(tmp_path / "alone")
    plain = tmp_path / "unpacked"
    plain.mkdir()
    for root in (alone, plain):
        found = bench.find_data(None, {}, root)
        assert found.folder is None
        assert found.looked[-1] == f"origin remote of {root}: none"


def test_local_remote_urls(bench: ModuleType, tmp_path: Path) -> None:
    assert bench.local_remote_path("/work/main", tmp_path) == Path("/work/main")
    assert bench.local_remote_path("file:///work/my%20main", tmp_path) == Path("/work/my main")
    assert bench.local_remote_path("../main", tmp_path / "x") == tmp_path / "main"
    assert bench.local_remote_path("ssh://host/repo.git", tmp_path) is None
    assert bench.local_remote_path("host:repo.git", tmp_path) is None


def test_the_benchmark_exits_2_with_the_message(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--data", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err
    assert f"--data {tmp_path / 'none'}: no such folder" in err and "COMPLAINT_BOT_DATA=DIR" in err


def test_an_origin_path_that_is_gone(bench: ModuleType, tmp_path: Path) -> None:
    main = repository(tmp_path / "work" / "main")
    copy = clone(main, tmp_path / "elsewhere" / "x")
    shutil.rmtree(main)
    found = bench.find_data(None, {}, copy)
    assert found.folder is None
    assert found.looked[-1] == f"origin remote of {copy}: {main}: no such folder"
