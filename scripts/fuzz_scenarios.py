"""Fuzz the scenario loader (and, with --player, the player) over many generated files.

    python scripts/fuzz_scenarios.py                      # 100,000 files, seed 0, one process
    python scripts/fuzz_scenarios.py --files 5000 --jobs 2
    python scripts/fuzz_scenarios.py --player 200         # also 200 random key sequences

File N of a run with seed S is always the same file (tests/fuzz_scenarios.py generates it from
the seed "S:N"). Each file must load into a simulation whose first, middle and last steps trace
to text and finite JSON, or be refused with one short ``FILE: …`` line per problem; every 50th
file also goes through ``netsim check``. Files run in worker processes: a file still running
after --timeout seconds (a hang), a worker that dies, or one whose peak memory grows past twice
the simulation budget is a failure too. Failing files are saved under --out with what went
wrong; the summary at the end is a Markdown table for docs/testing.md.
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import re
import resource
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

CLI_EVERY = 50
"""Every this many files, ``netsim check`` runs on the file too."""
GOTO_DIGITS = 40
"""At most this many digits typed into the go-to dialog (--goto-digits)."""
SAVE_PER_FAILURE = 5
"""Files kept for reproduction per distinct failure."""


@dataclass
class Result:
    """What one file or key sequence gave, as a worker reports it."""

    index: int
    task: str  # "file" or "player"
    kind: str
    outcome: str  # "ok", "refused" or "failure"
    key: str = ""
    detail: str = ""
    cli: bool = False
    last: bool = False
    """The worker stops after this result (its peak memory is spent); the parent starts another."""


# -- the worker ------------------------------------------------------------------------------------


def _generator() -> Any:
    """tests/fuzz_scenarios.py, the generator and the property (this script shares its name)."""
    return importlib.import_module("fuzz_scenarios")


def _alarm(signum: int, frame: Any) -> None:
    raise TimeoutError("still running at the soft time limit")


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(
    conn: Connection, seed: int, folder: str, soft_timeout: float, memory: int, digits: int
) -> None:
    """Run tasks sent on ``conn`` ("file", N) or ("player", N) until told to stop (None)."""
    global GOTO_DIGITS
    GOTO_DIGITS = digits
    import warnings

    warnings.simplefilter("ignore", DeprecationWarning)
    fz = _generator()
    base = Path(folder)
    fz.copy_data_folder(base)
    fz.seeds()
    fz.check_file  # noqa: B018 - everything imported before the first file is measured
    import tui.trace  # noqa: F401

    signal.signal(signal.SIGALRM, _alarm)
    baseline = _peak_rss()
    # Past the limit an allocation fails (MemoryError, reported) instead of taking the
    # machine's memory: address space now, plus the allowance, plus room for the run itself.
    room = _address_space() + memory + (1 << 30)
    resource.setrlimit(resource.RLIMIT_AS, (room, resource.getrlimit(resource.RLIMIT_AS)[1]))
    while True:
        task = conn.recv()
        if task is None:
            return
        what, index = task
        signal.setitimer(signal.ITIMER_REAL, soft_timeout)
        try:
            if what == "file":
                result = run_file(fz, base, seed, index)
            else:
                result = run_player(fz, base, seed, index)
        except BaseException as e:  # every failure is reported, none ends the run
            result = Result(index, what, "", "failure", fz.failure_key(e), _trace(e))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        grown = _peak_rss() - baseline
        if grown > memory and result.outcome != "failure":
            result.outcome = "failure"
            result.key = "Memory: peak grew past twice the simulation budget"
            result.detail = f"peak RSS grew by {grown / 2**20:.0f} MiB"
        result.last = grown > memory
        conn.send(result)
        if grown > memory:
            return  # a fresh worker measures the next file from a low peak


def _address_space() -> int:
    """This process's virtual memory size now, in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _trace(e: BaseException) -> str:
    return "".join(traceback.format_exception(e))[-6000:]


def run_file(fz: Any, base: Path, seed: int, index: int) -> Result:
    case = fz.generate(fz.RandomDraw(f"{seed}:{index}"))
    path = base / f"f{index}.toml"
    path.write_bytes(case.data)
    try:
        try:
            outcome = fz.check_file(path)
        except BaseException as e:
            return Result(index, "file", case.kind, "failure", fz.failure_key(e), _trace(e))
        result = Result(index, "file", case.kind, outcome.result)
        if index % CLI_EVERY == 0:
            result.cli = True
            problem = check_command(path, outcome)
            if problem:
                result.outcome, result.key, result.detail = "failure", problem[0], problem[1]
        return result
    finally:
        path.unlink(missing_ok=True)


def check_command(path: Path, outcome: Any) -> tuple[str, str] | None:
    """``netsim check FILE`` in-process: exit 0 with "FILE: ok", or 1 with the same lines the
    loader refused the file with, and never a traceback."""
    from click.testing import CliRunner

    from tui.cli import cli

    result = CliRunner().invoke(cli, ["check", str(path)], prog_name="netsim")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        e = result.exception
        return f"check: {type(e).__name__}", _trace(e)
    if "Traceback" in result.output:
        return "check: traceback in the output", result.output[-3000:]
    if outcome.result == "ok":
        if result.exit_code != 0 or result.stdout != f"{path}: ok\n":
            return "check: a loadable file not reported ok", result.output[-3000:]
    elif result.exit_code != 1 or result.stderr.splitlines() != outcome.lines:
        return "check: refusal not one line per problem", result.output[-3000:]
    return None


def run_player(fz: Any, base: Path, seed: int, index: int) -> Result:
    import asyncio

    import scenarios

    draw = fz.RandomDraw(f"player:{seed}:{index}")
    kind, path = draw.choice(fz.player_sims())
    actions = fz.player_actions(draw, count=40, max_digits=GOTO_DIGITS)
    sim = None
    if index % 2:  # odd sequences play a generated file that loads, hostile values and all
        for attempt in range(200):
            case = fz.generate(fz.RandomDraw(f"player:{seed}:{index}:{attempt}"))
            candidate = base / f"p{index}.toml"
            candidate.write_bytes(case.data)
            try:
                sim = scenarios.load(candidate)
            except Exception:
                continue
            kind, path = case.kind, candidate
            break
    if sim is None:
        sim = scenarios.load(path)
    try:
        asyncio.run(fz.drive_player(sim, actions))
    except BaseException as e:
        text = path.read_text(encoding="utf-8", errors="replace") if path.parent == base else ""
        detail = f"{path.name}: {actions}\n\n{text}\n\n{_trace(e)}"
        return Result(index, "player", kind, "failure", fz.failure_key(e), detail)
    return Result(index, "player", kind, "ok")


# -- the parent ------------------------------------------------------------------------------------


@dataclass
class Slot:
    """One worker process and the task it is on."""

    process: Any = None
    conn: Connection | None = None
    task: tuple[str, int] | None = None
    started: float = 0.0


@dataclass
class Tally:
    per_kind: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, list[Result]] = field(default_factory=lambda: defaultdict(list))
    cli: int = 0
    player: Counter[str] = field(default_factory=Counter)


def main(argv: list[str] | None = None) -> int:
    global GOTO_DIGITS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=100_000, help="files to generate")
    parser.add_argument("--player", type=int, default=0, help="random key sequences to play")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--goto-digits", type=int, default=GOTO_DIGITS, help="most digits typed into go-to"
    )
    parser.add_argument("--jobs", type=int, default=1, choices=(1, 2), help="worker processes")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds before a hang")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "netsim-fuzz",
        help="folder for failing files and the summary",
    )
    args = parser.parse_args(argv)
    GOTO_DIGITS = args.goto_digits

    fz = _generator()
    memory = 2 * fz.memory_budget()
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    tasks = [("file", i) for i in range(args.files)] + [("player", i) for i in range(args.player)]
    tasks.reverse()
    tally = Tally()
    slots = [Slot() for _ in range(args.jobs)]
    ctx = mp.get_context("spawn")
    started = time.monotonic()
    done = shown = 0

    def start(slot: Slot, n: int) -> None:
        parent, child = ctx.Pipe()
        folder = work / f"w{n}"
        folder.mkdir(parents=True, exist_ok=True)
        slot.process = ctx.Process(
            target=worker,
            args=(child, args.seed, str(folder), args.timeout * 0.8, memory, args.goto_digits),
            daemon=True,
        )
        slot.process.start()
        slot.conn = parent

    def record(result: Result) -> None:
        nonlocal done
        done += 1
        if result.task == "player":
            tally.player[result.outcome] += 1
        else:
            tally.per_kind[result.kind or "?"][result.outcome] += 1
            tally.cli += result.cli
        if result.outcome == "failure":
            found = tally.failures[result.key]
            found.append(result)
            if len(found) <= SAVE_PER_FAILURE:
                save(fz, args, result)
            if len(found) == 1:
                print(f"\nnew failure ({result.task} {result.index}): {result.key}", flush=True)

    for n, slot in enumerate(slots):
        start(slot, n)
    while tasks or any(s.task for s in slots):
        for n, slot in enumerate(slots):
            assert slot.conn is not None
            if slot.task is None:
                if not tasks:
                    continue
                slot.task = tasks.pop()
                slot.started = time.monotonic()
                slot.conn.send(slot.task)
            what, index = slot.task
            if slot.conn.poll(0.01):
                try:
                    result = slot.conn.recv()
                except (EOFError, OSError):
                    record(_dead(fz, args, what, index, slot.process))
                    start(slot, n)
                else:
                    record(result)
                    if result.last:
                        slot.process.join(10)
                        start(slot, n)
                slot.task = None
            elif not slot.process.is_alive():
                record(_dead(fz, args, what, index, slot.process))
                slot.task = None
                start(slot, n)
            elif time.monotonic() - slot.started > args.timeout:
                slot.process.kill()
                slot.process.join()
                record(
                    _failed(
                        fz, args, what, index, f"Hang: still running after {args.timeout:.0f} s"
                    )
                )
                slot.task = None
                start(slot, n)
        if done >= shown + 500:
            shown = done
            elapsed = time.monotonic() - started
            print(
                f"\r{done:,} done, {sum(len(v) for v in tally.failures.values())} failures, "
                f"{elapsed:.0f} s",
                end="",
                flush=True,
            )
    for slot in slots:
        if slot.conn is not None and slot.process.is_alive():
            slot.conn.send(None)
            slot.process.join(5)
    shutil.rmtree(work, ignore_errors=True)
    print()
    summary = summarise(args, tally, time.monotonic() - started)
    print(summary)
    (args.out / "summary.md").write_text(summary + "\n", encoding="utf-8")
    return 1 if tally.failures else 0


def _dead(fz: Any, args: Any, what: str, index: int, process: Any) -> Result:
    process.join(1)
    return _failed(fz, args, what, index, f"Crash: worker died (exit code {process.exitcode})")


def _failed(fz: Any, args: Any, what: str, index: int, key: str) -> Result:
    """A failure found by the parent (hang, dead worker): the case is generated again here."""
    if what == "file":
        case = fz.generate(fz.RandomDraw(f"{args.seed}:{index}"))
        return Result(index, what, case.kind, "failure", key, "")
    draw = fz.RandomDraw(f"player:{args.seed}:{index}")
    kind, path = draw.choice(fz.player_sims())
    actions = fz.player_actions(draw, count=40, max_digits=GOTO_DIGITS)
    return Result(index, what, kind, "failure", key, f"{path.name}: {actions}")


def save(fz: Any, args: Any, result: Result) -> None:
    """The failing file (or key sequence) and what went wrong, under --out/<failure>/."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", result.key)[:80].strip("_") or "failure"
    folder = args.out / slug
    folder.mkdir(parents=True, exist_ok=True)
    if result.task == "file":
        case = fz.generate(fz.RandomDraw(f"{args.seed}:{result.index}"))
        (folder / f"f{result.index}.toml").write_bytes(case.data)
        info = f"from {case.source} ({case.kind}); mutations: {case.notes}\n\n"
    else:
        info = ""
    text = f"{result.key}\nseed {args.seed}, {result.task} {result.index}\n{info}{result.detail}"
    (folder / f"{result.task}{result.index}.txt").write_text(text, encoding="utf-8")


def summarise(args: Any, tally: Tally, seconds: float) -> str:
    files = sum(sum(c.values()) for c in tally.per_kind.values())
    lines = [
        f"Fuzzing run: {files:,} generated scenario files, seed {args.seed}, {args.jobs} "
        f"process(es), {seconds / 60:.1f} min; `netsim check` on {tally.cli:,} of them.",
        "",
        "| kind | files | loaded | refused with a clean error | failures |",
        "|---|---:|---:|---:|---:|",
    ]
    total: Counter[str] = Counter()
    for kind in sorted(tally.per_kind):
        c = tally.per_kind[kind]
        total += c
        lines.append(
            f"| {kind} | {sum(c.values()):,} | {c['ok']:,} | {c['refused']:,} | {c['failure']:,} |"
        )
    lines.append(
        f"| **total** | {sum(total.values()):,} | {total['ok']:,} | {total['refused']:,} "
        f"| {total['failure']:,} |"
    )
    if args.player:
        p = tally.player
        lines += [
            "",
            f"Player: {sum(p.values()):,} random key sequences, {p['failure']:,} failures.",
        ]
    lines += ["", f"Distinct failures: {len(tally.failures)}"]
    for key, found in sorted(tally.failures.items(), key=lambda kv: -len(kv[1])):
        first = found[0]
        lines.append(f"- {len(found):,}× {key} (first: {first.task} {first.index}, {first.kind})")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
