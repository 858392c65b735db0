"""Mutation testing of the numerical core: do the tests notice wrong code?

    make mutation          # or: python -m mutation.run [--files autograd/rules.py ...]
    python -m mutation.run --recheck mutation-report/survivors.txt   # after new tests
    python -m mutation.run --check [--files ...]   # equivalent.txt against today's code

For each core file, cosmic-ray makes one single-point change at a time (an arithmetic
operator, a comparison, a constant, a condition, a loop that runs zero times), runs that
file's tests on the changed copy, and records whether a test failed (the mutant is
killed) or all passed (it survived). Each file is tested in a scratch copy of the
working tree, two files at a time. Of the file's tests, each mutant runs those that
execute the changed statement (``tests_for_mutant``, from one coverage run per file),
quickest first, ``-x`` (the first failure is enough), with hypothesis's quick
``mutation`` profile, in a fork of a test server that has the libraries imported
(``test_server``). Mutants listed in
``mutation/equivalent.txt`` change no behaviour (reviewed by hand, one line each, with
the reason) and are not counted; each is named by a key that holds its function, its
line's text and its change but no line number (``keys``), so that moving code keeps
the reviews. The table gives killed / counted per file; survivors are written to
``mutation-report/survivors.txt``, each as its key and its diff: one reviewed as
equivalent goes into ``equivalent.txt`` as that key, `` — `` and the reason.
``--check`` matches ``equivalent.txt`` against the mutants cosmic-ray makes of today's
files without running any test (3 minutes for all), and names the entries that match
none.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator
from coverage import CoverageData

from mutation.keys import KEY, Made, change_in, keys, read_equivalent, unmatched
from mutation.test_server import ask

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "mutation-report"
EQUIVALENT = Path(__file__).resolve().parent / "equivalent.txt"

#: Each core file and the tests that exercise it, the quickest and most direct first.
CORE: dict[str, list[str]] = {
    "autograd/broadcast.py": [
        "tests/test_broadcast.py",
        "tests/test_engine.py",
        "tests/test_tensor.py",
    ],
    "autograd/versions.py": [
        "tests/test_versions.py",
        "tests/test_fail_closed.py",
        "tests/test_habits.py",
        "tests/test_own_op.py",
        "tests/test_tensor.py",
        "tests/test_module.py",
        "tests/test_optim.py",
    ],
    "autograd/engine.py": [
        "tests/test_engine.py",
        "tests/test_versions.py",
        "tests/test_mode.py",
        "tests/test_value.py",
        "tests/test_tensor.py",
        "tests/test_fail_closed.py",
    ],
    "autograd/node.py": [
        "tests/test_engine.py",
        "tests/test_value.py",
        "tests/test_versions.py",
        "tests/test_mode.py",
        "tests/test_tensor.py",
        "tests/test_fail_closed.py",
        "tests/test_micrograd.py",
        "tests/test_viz.py",
    ],
    "autograd/rules.py": [
        "tests/test_rules.py",
        "tests/test_tensor_rules.py",
        "tests/test_value.py",
        "tests/test_tensor.py",
        "tests/test_edge_cases.py",
    ],
    "autograd/value.py": [
        "tests/test_value.py",
        "tests/test_rules.py",
        "tests/test_fail_closed.py",
        "tests/test_micrograd.py",
        "tests/test_own_op.py",
        "tests/test_tensor.py",
        "tests/test_compile.py",
    ],
    "autograd/tensor.py": [
        "tests/test_tensor.py",
        "tests/test_tensor_rules.py",
        "tests/test_habits.py",
        "tests/test_edge_cases.py",
        "tests/test_versions.py",
        "tests/test_fail_closed.py",
        "tests/test_compile.py",
    ],
    "autograd/functional.py": [
        "tests/test_tensor.py",
        "tests/test_tensor_rules.py",
        "tests/test_losses.py",
        "tests/test_fail_closed.py",
    ],
    "nn/optim.py": ["tests/test_optim.py", "tests/test_every_part.py", "tests/test_api_errors.py"],
    "nn/train.py": [
        "tests/test_train.py",
        "tests/test_every_part.py",
        "tests/test_api_errors.py",
        "tests/test_edge_cases.py",
    ],
    "nn/checks.py": [
        "tests/test_api_errors.py",
        "tests/test_optim.py",
        "tests/test_layers.py",
        "tests/test_data.py",
        "tests/test_losses.py",
        "tests/test_metrics.py",
        "tests/test_scalar.py",
    ],
    "nn/data.py": ["tests/test_data.py", "tests/test_api_errors.py"],
    "nn/scalar.py": ["tests/test_scalar.py", "tests/test_micrograd.py", "tests/test_api_errors.py"],
    "nn/losses.py": [
        "tests/test_losses.py",
        "tests/test_edge_cases.py",
        "tests/test_fail_closed.py",
        "tests/test_api_errors.py",
    ],
    "nn/layers.py": [
        "tests/test_layers.py",
        "tests/test_module.py",
        "tests/test_fail_closed.py",
        "tests/test_modelfile.py",
        "tests/test_api_errors.py",
    ],
    "nn/activations.py": ["tests/test_layers.py", "tests/test_interop.py"],
    "nn/mlp.py": ["tests/test_layers.py", "tests/test_module.py"],
    "nn/module.py": [
        "tests/test_module.py",
        "tests/test_modelfile.py",
        "tests/test_fail_closed.py",
        "tests/test_layers.py",
        "tests/test_resume.py",
        "tests/test_api_errors.py",
    ],
    "nn/modelfile.py": [
        "tests/test_modelfile.py",
        "tests/test_module.py",
        "tests/test_resume.py",
        "tests/test_api_errors.py",
    ],
    "nn/schema.py": [
        "tests/test_modelfile.py",
        "tests/test_module.py",
        "tests/test_resume.py",
        "tests/test_api_errors.py",
    ],
    "nn/init.py": ["tests/test_layers.py"],
    "nn/metrics.py": ["tests/test_metrics.py"],
}

#: The mutation operators, trimmed to a sufficient set (Offutt et al., "An experimental
#: determination of sufficient mutant operators", 1996; Kaminski, Ammann and Offutt,
#: "Improving logic-based testing", 2013): each arithmetic operator is replaced by two
#: others, not all eleven, and each comparison by its boundary neighbours and its
#: negation (the mutants that subsume the other four). Every other cosmic-ray operator
#: (constants, unary operators, conditions, loops, decorators, exceptions, booleans) runs.
KEPT_BINARY = "Add_Sub|Add_Mul|Sub_Add|Sub_Mul|Mul_Div|Mul_Add|Div_Mul|Div_Sub|Pow_Mul|Pow_Div"
KEPT_COMPARISON = (
    "Eq_LtE|Eq_GtE|Eq_NotEq|NotEq_Lt|NotEq_Gt|NotEq_Eq|Lt_LtE|Lt_NotEq|Lt_GtE|"
    "LtE_Lt|LtE_Eq|LtE_Gt|Gt_GtE|Gt_NotEq|Gt_LtE|GtE_Gt|GtE_Eq|GtE_Lt|"
    "Is_IsNot|IsNot_Is|In_NotIn|NotIn_In"
)
EXCLUDED_OPERATORS = [
    rf"core/ReplaceBinaryOperator_(?!({KEPT_BINARY})$)",
    rf"core/ReplaceComparisonOperator_(?!({KEPT_COMPARISON})$)",
]

#: Seconds one mutant's tests may take before the mutant counts as killed (a hang).
TIMEOUT_SECONDS = 300


@dataclass
class FileResult:
    path: str
    killed: int = 0
    survived: list[dict[str, str]] = field(default_factory=list)
    equivalent: int = 0
    #: Mutants listed as equivalent that a test kills: the list is wrong about them.
    stale: list[str] = field(default_factory=list)
    #: The key of every mutant made, so that entries of equivalent.txt that match none
    #: are reported.
    made: set[str] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def counted(self) -> int:
        return self.killed + len(self.survived)

    @property
    def score(self) -> float:
        return self.killed / self.counted if self.counted else 1.0


def equivalent_mutants() -> dict[str, str]:
    """The reason for each mutant listed in ``equivalent.txt``, by key (``keys``)."""
    return read_equivalent(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}


def working_tree_copy(destination: Path) -> None:
    """The working tree (edits and new files, not ignored ones) copied to ``destination``."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def cosmic_ray(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    tool = Path(sys.executable).parent / args[0]
    done = subprocess.run([str(tool), *args[1:]], cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed in {cwd}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def session_results(cwd: Path) -> Iterator[tuple[dict, dict]]:
    for line in cosmic_ray("cosmic-ray", "dump", "session.sqlite", cwd=cwd).splitlines():
        job, result = json.loads(line)
        yield job, result or {}


def mutant_diff(source: str, mutation: dict) -> str:
    """The diff of the mutant that ``mutation`` (a job's, from the session) makes of
    ``source``: for a mutant that has not run (``--check``) or gave no diff."""
    operator = get_operator(mutation["operator_name"])(**mutation.get("operator_args", {}))
    mutated = mutate_code(source, operator, mutation["occurrence"]) or source
    return "\n".join(difflib.unified_diff(source.split("\n"), mutated.split("\n"), lineterm=""))


def keyed_mutants(copy: Path, path: str) -> list[tuple[str, dict]]:
    """(key, outcome) of each mutant of ``path`` in the session of ``copy``, filtered
    operators left out."""
    source = (copy / path).read_text()
    made, outcomes = [], []
    for job, outcome in session_results(copy):
        if outcome.get("worker_outcome") == "skipped":
            continue  # filtered out
        mutation = job["mutations"][0]
        diff = outcome.get("diff") or mutant_diff(source, mutation)
        line, column = mutation["start_pos"]
        made.append(Made(mutation["operator_name"], line, column, change_in(diff)))
        outcomes.append({**outcome, "diff": diff})
    return list(zip(keys(path, source, made), outcomes))


def record_tests_of_lines(copy: Path, path: str, tests: list[str]) -> None:
    """Run ``tests`` once under coverage, one context per test, and keep which test runs
    which line of ``path`` (and how long each test takes) for ``tests_for_mutant``."""
    state = copy / ".mutation"
    state.mkdir()
    shutil.copy2(copy / path, state / "pristine.py")
    durations, data_file = state / "durations.json", state / "coverage"
    coverage_run = [sys.executable, "-m", "coverage", "run", f"--data-file={data_file}"]
    only_path = f"--include={copy / path}"
    pytest_run = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "mutation.record_contexts"]
    done = subprocess.run(
        [*coverage_run, only_path, *pytest_run, *tests],
        cwd=copy,
        env={**os.environ, "MUTATION_DURATIONS": str(durations)},
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the tests of {path} fail before any mutation:\n{done.stdout}")
    data = CoverageData(basename=str(data_file))
    data.read()
    measured = str((copy / path).resolve())
    if measured not in data.measured_files():
        raise RuntimeError(f"the tests of {path} never ran it (measured: {data.measured_files()})")
    (state / "map.json").write_text(
        json.dumps(
            {
                "tests_of_line": data.contexts_by_lineno(measured),
                "durations": json.loads(durations.read_text()),
            }
        )
    )


def start_session(copy: Path, path: str, tests: list[str]) -> None:
    """cosmic-ray's session of the mutants of ``path`` in ``copy``, operators filtered."""
    test_command = " ".join([sys.executable, "-m", "mutation.tests_for_mutant", path, *tests])
    excluded = ", ".join(f"'{pattern}'" for pattern in EXCLUDED_OPERATORS)
    (copy / "cosmic-ray.toml").write_text(
        f"""[cosmic-ray]
module-path = "{path}"
timeout = {TIMEOUT_SECONDS}
excluded-modules = []
test-command = "{test_command}"

[cosmic-ray.distributor]
name = "local"

[cosmic-ray.filters.operators-filter]
exclude-operators = [{excluded}]
"""
    )
    cosmic_ray("cosmic-ray", "init", "cosmic-ray.toml", "session.sqlite", cwd=copy)
    cosmic_ray("cr-filter-operators", "session.sqlite", "cosmic-ray.toml", cwd=copy)


def run_file(path: str, tests: list[str], scratch: Path) -> FileResult:
    """Every mutant of ``path``, tested with ``tests`` in a copy of the working tree."""
    start = time.perf_counter()
    copy = scratch / path.replace("/", "_")
    working_tree_copy(copy)
    record_tests_of_lines(copy, path, tests)
    start_session(copy, path, tests)
    cosmic_ray("cosmic-ray", "baseline", "cosmic-ray.toml", cwd=copy)
    address = str(copy / ".mutation" / "server.sock")
    server = subprocess.Popen(
        [sys.executable, "-m", "mutation.test_server", address],
        cwd=copy,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not Path(address).exists() and server.poll() is None:
            time.sleep(0.05)
        with_server = {**os.environ, "MUTATION_SERVER": address}
        exec_all = ("cosmic-ray", "exec", "cosmic-ray.toml", "session.sqlite")
        cosmic_ray(*exec_all, cwd=copy, env=with_server)
    finally:
        if server.poll() is None:
            ask(address, "stop")
        server.wait()
    errors = copy / ".mutation" / "errors.log"
    if errors.exists():
        failures = errors.read_text()
        raise RuntimeError(f"the test server failed, the run of {path} is void:\n{failures}")

    known = equivalent_mutants()
    result = FileResult(path)
    for mutant, outcome in keyed_mutants(copy, path):
        result.made.add(mutant)
        if outcome.get("test_outcome") != "survived":  # killed, or it crashed or hung
            result.killed += 1
            if mutant in known:
                result.stale.append(mutant)
        elif mutant in known:
            result.equivalent += 1
        else:
            result.survived.append({"mutant": mutant, "diff": outcome["diff"]})
    result.seconds = time.perf_counter() - start
    return result


#: A survivor's first line in ``survivors.txt``: its key (``keys``).
SURVIVOR = re.compile(KEY)


def read_survivors(text: str) -> list[tuple[str, str]]:
    """(mutant, diff) of each survivor that a run wrote to ``survivors.txt``."""
    survivors: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if SURVIVOR.fullmatch(line):
            survivors.append((line, []))
        elif survivors:
            survivors[-1][1].append(line)
    return [(mutant, "\n".join(diff)) for mutant, diff in survivors]


def mutated(source: str, diff: str) -> str | None:
    """``source`` with ``diff`` (one mutant's unified diff) applied; None if it no longer fits."""
    lines = source.split("\n")  # a final newline leaves an empty last line, as diffs see it
    result, position = [], 0
    chunks = re.split(r"^(@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@.*)$", diff, flags=re.M)
    for header, body in zip(chunks[1::2], chunks[2::2]):
        start = int(re.match(r"@@ -(\d+)", header).group(1)) - 1  # type: ignore[union-attr]
        result += lines[position:start]
        position = start
        for line in body.splitlines():
            if line[:1] in (" ", "-"):
                if position >= len(lines) or lines[position] != line[1:]:
                    return None
                if line[:1] == " ":
                    result.append(line[1:])
                position += 1
            elif line[:1] == "+":
                result.append(line[1:])
    return "\n".join(result + lines[position:])


def recheck(survivors_file: Path, jobs: int) -> None:
    """Run each survivor of an earlier run again, against today's tests.

    Faster than a new run when only tests changed since: each survivor is applied from
    its diff to a copy of the working tree and its tests run. A survivor whose diff no
    longer fits its file (the code changed) is reported; run that file again in full.
    """
    by_file: dict[str, list[tuple[str, str]]] = {}
    for mutant, diff in read_survivors(survivors_file.read_text()):
        by_file.setdefault(mutant.split(" ")[0], []).append((mutant, diff))
    with (
        tempfile.TemporaryDirectory(prefix="tracegrad-recheck-") as scratch,
        ThreadPoolExecutor(max_workers=jobs) as pool,
    ):
        reports = pool.map(
            lambda item: recheck_file(item[0], item[1], Path(scratch)), by_file.items()
        )
        for report in reports:
            print(report)


def recheck_file(path: str, entries: list[tuple[str, str]], scratch: Path) -> str:
    """What became of ``path``'s survivors (see ``recheck``), as lines to print."""
    known = equivalent_mutants()
    copy = scratch / path.replace("/", "_")
    working_tree_copy(copy)
    record_tests_of_lines(copy, path, CORE[path])
    pristine = (copy / path).read_text()
    outcome: dict[str, list[str]] = {
        "killed": [],
        "equivalent": [],
        "survived": [],
        "no longer fits": [],
    }
    for mutant, diff in entries:
        if mutant in known:
            outcome["equivalent"].append(mutant)
            continue
        changed = mutated(pristine, diff)
        if changed is None:
            outcome["no longer fits"].append(mutant)
            continue
        (copy / path).write_text(changed)
        tests = [sys.executable, "-m", "mutation.tests_for_mutant", path, *CORE[path]]
        done = subprocess.run(tests, cwd=copy, capture_output=True)
        (copy / path).write_text(pristine)
        outcome["killed" if done.returncode else "survived"].append(mutant)
    counts = ", ".join(f"{len(found)} {what}" for what, found in outcome.items())
    lines = [f"{path}: {len(entries)} survivors of the run: {counts}"]
    for what in ("survived", "no longer fits"):
        lines += [f"  {what}: {mutant}" for mutant in outcome[what]]
    return "\n".join(lines)


def check(paths: list[str]) -> None:
    """Match ``equivalent.txt`` against the mutants cosmic-ray makes of ``paths`` today,
    without running any test, and print the entries that match none."""
    listed = equivalent_mutants()
    with tempfile.TemporaryDirectory(prefix="tracegrad-check-") as scratch:
        for path in paths:
            copy = Path(scratch) / path.replace("/", "_")
            (copy / path).parent.mkdir(parents=True)
            shutil.copy2(ROOT / path, copy / path)
            start_session(copy, path, CORE[path])
            made = {mutant for mutant, _ in keyed_mutants(copy, path)}
            missing = unmatched(listed, made, {path})
            count = sum(key.split(" ")[0] == path for key in listed)
            print(f"{path}: {len(made)} mutants, {count} listed, {len(missing)} of them not made")
            print("".join(f"  no such mutant: {key}\n" for key in missing), end="")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", nargs="*", choices=sorted(CORE), help="default: all")
    parser.add_argument("--jobs", type=int, default=2, help="files tested at once")
    parser.add_argument(
        "--recheck",
        type=Path,
        metavar="SURVIVORS",
        help="run the survivors listed in a run's survivors.txt again, against today's tests",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="match equivalent.txt against the mutants made today, running no test",
    )
    args = parser.parse_args()
    if args.check:
        check(sorted(args.files or CORE))
        return
    if args.recheck:
        os.environ["HYPOTHESIS_PROFILE"] = "mutation"
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        recheck(args.recheck, args.jobs)
        return
    # The largest files first, so that the two workers finish at about the same time.
    files = sorted(args.files or CORE, key=lambda f: (ROOT / f).stat().st_size, reverse=True)
    os.environ["HYPOTHESIS_PROFILE"] = "mutation"
    # Let pytest cache its rewritten test modules: without the cache, each mutant's run
    # recompiles them (and hypothesis's plugin), which doubles the cost of a killed one.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    REPORT.mkdir(exist_ok=True)
    start = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="tracegrad-mutation-") as scratch,
        ThreadPoolExecutor(max_workers=args.jobs) as pool,
    ):
        results = list(pool.map(lambda f: run_file(f, CORE[f], Path(scratch)), files))
    minutes = (time.perf_counter() - start) / 60

    print(f"Mutation testing of the core: {len(files)} files in {minutes:.0f} minutes\n")
    print("| file | mutants | equivalent | killed | survived | score | minutes |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        total = r.counted + r.equivalent
        print(
            f"| {r.path} | {total} | {r.equivalent} | {r.killed} | {len(r.survived)} "
            f"| {100 * r.score:.1f} % | {r.seconds / 60:.1f} |"
        )
    survivors = [s for r in results for s in r.survived]
    with open(REPORT / "survivors.txt", "w") as report:
        for s in survivors:
            report.write(f"{s['mutant']}\n{s['diff']}\n")
    print(f"\n{len(survivors)} survivors, with their diffs: {REPORT / 'survivors.txt'}")
    stale = [entry for r in results for entry in r.stale]
    if stale:
        print("Listed as equivalent but killed (remove them from equivalent.txt):")
        print("\n".join(f"  {entry}" for entry in stale))
    made = {mutant for r in results for mutant in r.made}
    unused = unmatched(equivalent_mutants(), made, {r.path for r in results})
    if unused:
        print("Listed as equivalent but no such mutant was made (its line changed: review again):")
        print("\n".join(f"  {entry}" for entry in unused))


if __name__ == "__main__":
    main()
