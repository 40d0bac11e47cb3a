"""The `netsim` command: open the app, or list, check, trace and snapshot scenarios headless.

Textual and torch are imported only by the commands that open the app or draw a snapshot,
so `netsim check`, `netsim trace` and `netsim list` start quickly.
"""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
import sys
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from itertools import groupby
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import click

import scenarios
from scenarios.kinds import module_names
from tui.snapshot import VIEWS, ViewError, parse_keys, parse_views

if TYPE_CHECKING:
    from engine import Simulation
    from tui.screens.loading import Opening

Progress = Callable[[int, int], None]

DEFAULT_SIZE = (120, 40)
"""Terminal size (columns, rows) a snapshot is drawn at unless ``--size`` says otherwise."""

MIN_SIZE = (40, 12)
MAX_SIZE = (500, 200)
"""Smallest and largest ``--size`` accepted for a snapshot, in (columns, rows)."""

_SIZE = re.compile(r"^\s*(\d+)\s*[x×X]\s*(\d+)\s*$")


# -- errors on one line ----------------------------------------------------------------------


class OneLineUsageError(click.UsageError):
    """A usage error shown as one line (message and where to find help), exit status 2."""

    def show(self, file: IO[Any] | None = None) -> None:
        hint = f" (see '{self.ctx.command_path} --help')" if self.ctx is not None else ""
        message = " ".join(self.format_message().split())
        click.echo(f"Error: {message}{hint}", file=file, err=file is None)


def _one_line(e: click.UsageError) -> OneLineUsageError:
    if isinstance(e, OneLineUsageError):
        return e
    return OneLineUsageError(e.format_message(), e.ctx)


def fail(message: str) -> NoReturn:
    """Stop with a one-line error (exit status 1)."""
    raise click.ClickException(" ".join(message.split()))


# -- the group: `netsim FILE` means `netsim run FILE` ----------------------------------------


class NetsimGroup(click.Group):
    """A command group where a first argument that is not a command is a scenario to run.

    ``netsim conv_vertical_edge`` is ``netsim run conv_vertical_edge``. A name that is neither
    a command nor a file but is close to a command (``netsim lst``) is a usage error with a
    suggestion, not a "no such file". Every usage error prints as one line.
    """

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if self.get_command(ctx, name) is None and not name.startswith("-"):
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1, cutoff=0.75)
            if not close or exists(name):
                return "run", self.commands["run"], args
        return super().resolve_command(ctx, args)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as e:
            raise _one_line(e) from None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            raise _one_line(e) from None


def exists(name: str) -> bool:
    """Whether ``name`` is a file or a bundled scenario; False for a name the system refuses."""
    try:
        return scenarios.resolve(name).exists()
    except OSError:
        return False


# -- shared steps ----------------------------------------------------------------------------


def near_names(name: str) -> str:
    """``; did you mean 'conv_vertical_edge'? (see netsim list)``: the bundled names that
    start with ``name`` or are spelled close to it, or only the pointer to the list."""
    import difflib

    stem = Path(name).name.removesuffix(".toml")
    names = sorted(p.stem for p in scenarios.BUNDLED_DIR.glob("*.toml"))
    close = [n for n in names if stem and n.startswith(stem)][:3]
    close += [n for n in difflib.get_close_matches(stem, names, n=3) if n not in close]
    if not close:
        return " (see netsim list)"
    listed = " or ".join(repr(n) for n in close[:3])
    return f"; did you mean {listed}? (see netsim list)"


def try_load(name: str) -> Simulation | None:
    """The scenario at a path or with a bundled name, or None after printing its problems."""
    try:
        return load_or_raise(name)
    except scenarios.ScenarioError as e:
        report(e)
        return None


def load_or_raise(name: str, progress: Progress | None = None) -> Simulation:
    """The scenario at a path or with a bundled name; every problem, even one netsim did not
    expect, as a ScenarioError (unless NETSIM_DEBUG asks for the traceback)."""
    try:
        path = scenarios.resolve(name)
        if not path.exists() and path.parent == Path("."):
            # A bare name that is neither a file here nor bundled: say where names come from.
            problem = "no such file, and no bundled scenario of that name" + near_names(name)
            raise scenarios.ScenarioError(name, [("(file)", problem)])
        return scenarios.load(path, progress=progress)
    except scenarios.ScenarioError:
        raise
    except OSError as e:  # a name the system refuses (too long, a loop of links …)
        raise scenarios.ScenarioError(name, [("(file)", e.strerror or str(e))]) from None
    except Exception as e:  # a bug: still one line, and the other files are still checked
        if _debugging():
            raise
        raise scenarios.ScenarioError(name, [("(file)", unexpected(e))]) from None


PREVIEW_BYTES = 1 << 20
"""Largest file ``preview`` reads; a larger one is loaded before the app opens (scenario files
are a few kilobytes; the loader's own limit is larger)."""


def paints_early() -> bool:
    """Whether ``netsim FILE`` draws the player's frame before the file is loaded: only in a
    terminal. Without one (a pipe, a test) the file is loaded first, as ``netsim check`` does,
    and a bad file never starts the app."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def preview(name: str) -> Opening | None:
    """What the player can show of ``name`` before it is loaded (its title and description,
    read with ``tomllib`` alone), or None when a cheap look already finds something the loader
    would refuse: not a regular file, too large, unreadable, not UTF-8, a TOML syntax error,
    no title, or a kind no module is named after. The file is then loaded before the app
    opens, so that its error is the loader's own line and the screen never opens for it."""
    from tui.screens.loading import Opening

    try:
        path = scenarios.resolve(name)
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > PREVIEW_BYTES:
                return None
            with os.fdopen(fd, "rb", closefd=False) as f:
                raw = f.read(PREVIEW_BYTES + 1)
        finally:
            os.close(fd)
        data = tomllib.loads(raw.decode("utf-8").removeprefix("\ufeff"))
    except (OSError, ValueError, RecursionError):  # TOMLDecodeError and UnicodeDecodeError too
        return None
    title, description, kind = (data.get(k) for k in ("title", "description", "kind"))
    if not isinstance(title, str) or not title.strip() or not isinstance(kind, str):
        return None
    if not isinstance(description, str | None) or kind not in module_names():
        return None
    return Opening(
        path=path,
        title=title,
        description=description or "",
        load=lambda progress: load_or_raise(name, progress),
        kind=kind,
    )


def _debugging() -> bool:
    """Whether NETSIM_DEBUG asks for tracebacks (read here without importing the app)."""
    return os.environ.get("NETSIM_DEBUG", "") not in ("", "0")


def unexpected(e: BaseException) -> str:
    """One line for an error netsim did not expect: what it was, and how to see where."""
    text = " ".join(str(e).split())
    if len(text) > 200:
        text = text[:199] + "…"
    return (
        f"netsim stopped on an unexpected error ({type(e).__name__}: {text}); "
        "run again with NETSIM_DEBUG=1 to see where"
    )


def load(name: str) -> Simulation:
    """The scenario at a path or with a bundled name; on any problem, its lines and exit 1."""
    sim = try_load(name)
    if sim is None:
        raise click.exceptions.Exit(1)
    return sim


def report(error: scenarios.ScenarioError) -> None:
    """Each problem of a scenario on its own line on stderr: ``FILE: field.path: message``."""
    for line in error.lines():
        click.echo(line, err=True)


def write_lines(lines: Iterable[str]) -> None:
    """Write lines to stdout as they are produced, never joining them into one string."""
    out = sys.stdout
    for line in lines:
        out.write(line)
        out.write("\n")
    out.flush()


def parse_size(text: str) -> tuple[int, int]:
    """``"120x40"`` as ``(120, 40)``, within MIN_SIZE and MAX_SIZE; ValueError otherwise."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a size; write COLUMNSxROWS, e.g. 120x40")
    w, h = int(m[1]), int(m[2])
    (w0, h0), (w1, h1) = MIN_SIZE, MAX_SIZE
    if not (w0 <= w <= w1 and h0 <= h <= h1):
        raise ValueError(
            f"{w}x{h} is outside the sizes a snapshot can be drawn at: "
            f"{w0} to {w1} columns and {h0} to {h1} rows"
        )
    return w, h


def output_path(output: str, example: str = "step.svg", option: str = "'-o'") -> Path:
    """The path ``-o`` names, after checking that writing there can only create a new regular
    file or replace an existing one; otherwise a one-line error and exit 1.

    Directories, device nodes, FIFOs and sockets are refused (replacing /dev/null with an SVG
    would break the system), and so are symbolic links: writing through a link would replace
    a file elsewhere, and replacing the link would lose it.
    """
    if not output.strip():
        raise click.BadParameter(
            f"give the name of the file to write, e.g. {example}", param_hint=option
        )
    out = Path(output)
    try:
        info = os.lstat(out)
    except FileNotFoundError:
        info = None
    except OSError as e:  # a name too long, a component that is a file …
        fail(f"cannot write {output}: {e.strerror or e}")
    if info is not None and not stat.S_ISREG(info.st_mode):
        if stat.S_ISDIR(info.st_mode):
            problem = f"it is a directory; give a file name such as {out / example}"
        elif stat.S_ISLNK(info.st_mode):
            problem = (
                "it is a symbolic link; netsim writes only to regular files, so name the file "
                "it points to, or another file"
            )
        else:
            problem = (
                f"it is a {special_kind(info.st_mode)}, not a regular file; netsim only creates "
                "new files or replaces regular ones"
            )
        fail(f"cannot write {output}: {problem}")
    try:
        folder_exists = out.parent.is_dir()
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")
    if not folder_exists:
        fail(f"cannot write {output}: the folder {out.parent} does not exist")
    return out


def special_kind(mode: int) -> str:
    """What a file that is neither regular nor a directory is, in a few words."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder, then rename it
    over ``path``: a failure leaves the old file as it was and no temporary file behind.

    Only a regular file is ever replaced: if something else has appeared at ``path`` since
    ``output_path`` checked it, OSError (EEXIST) and nothing is replaced.
    """
    info = path.lstat() if os.path.lexists(path) else None
    if info is not None:
        mode = info.st_mode & 0o777
    else:
        umask = os.umask(0o022)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)  # mkstemp makes the file private; give it a normal file's mode
        if os.path.lexists(path) and not stat.S_ISREG(path.lstat().st_mode):
            raise FileExistsError(errno.EEXIST, "it is no longer a regular file", str(path))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_app(app: Any) -> None:
    """Run the Textual app; if it stopped on an error, say so in one line and exit 1, and if
    the file it was opening could not be loaded, print that file's problems and exit 1.

    The app keeps the traceback to itself unless NETSIM_DEBUG is set (see tui.app).
    """
    app.run()
    error = getattr(app, "load_error", None)
    if error is not None:  # the file given failed to load after the app opened
        report(error)
        raise click.exceptions.Exit(1)
    if app.return_code:
        crash = getattr(app, "crash", None)
        what = f"{type(crash).__name__}: {crash}" if crash is not None else "an error"
        fail(
            f"the app stopped on an unexpected error ({what}); "
            "run again with NETSIM_DEBUG=1 to see where"
        )


# -- commands --------------------------------------------------------------------------------


@click.group(
    cls=NetsimGroup,
    invoke_without_command=True,
    subcommand_metavar="[FILE | COMMAND [ARGS]...]",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(
    None,
    "--version",
    "-V",
    package_name="netsim",
    prog_name="netsim",
    message="%(prog)s %(version)s",
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Step through the arithmetic of classic neural networks, one number at a time.

    \b
      netsim                 open the scenario browser
      netsim FILE            open a scenario in the player (same as netsim run FILE)
      netsim list            list the scenarios that come with netsim
      netsim check FILE...   check scenario files for mistakes
      netsim trace FILE      print every step as text or JSON Lines
      netsim snapshot FILE   save the player's screen at one step as an SVG image

    FILE is a scenario file (.toml) or the name of a bundled scenario, such as
    conv_vertical_edge. Run `netsim COMMAND --help` for the details of a command.
    """
    if ctx.invoked_subcommand is None:
        from tui.app import NetsimApp

        run_app(NetsimApp())


@cli.command()
@click.argument("file", metavar="FILE")
def run(file: str) -> None:
    """Open a scenario in the player.

    FILE is a scenario file (.toml) or the name of a bundled scenario, such as
    conv_vertical_edge (see netsim list). If it has mistakes, they are listed and netsim
    exits with status 1: a file that cannot be read or parsed never opens the player; one
    whose mistakes are found while it loads (the player shows its title meanwhile) closes
    it and the mistakes are listed once the terminal is restored.
    """
    opening = preview(file) if paints_early() else None
    if opening is None:
        sim = load(file)
        from tui.app import NetsimApp

        run_app(NetsimApp(simulation=sim))
        return
    from tui.app import NetsimApp

    run_app(NetsimApp(opening=opening))


@cli.command("list")
def list_() -> None:
    """List the scenarios that come with netsim, grouped by topic."""
    shipped = scenarios.bundled()
    width = max((len(s.name) for s in shipped), default=0)
    for topic, group in groupby(shipped, key=lambda s: s.topic):
        click.echo(topic)
        for s in group:
            click.echo(f"  {s.name:<{width}}  {s.title}")
        click.echo()
    example = shipped[0].name if shipped else "FILE"
    click.echo(f"Open one with: netsim {example}   (or netsim path/to/your_scenario.toml)")


@cli.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
def check(files: tuple[str, ...]) -> None:
    """Check scenario files for mistakes without opening them.

    Prints "FILE: ok" for each good file. For a file with mistakes, prints one line per
    mistake on stderr, as "FILE: field: what is wrong". Exit status: 0 if every file is
    good, 1 if any has a mistake, 2 if the command itself was mistyped.

    FILE is a scenario file (.toml) or the name of a bundled scenario.
    """
    bad = 0
    for name in files:
        sim = try_load(name)
        if sim is None:
            bad += 1
        else:
            click.echo(f"{sim.source}: ok")
    if bad:
        raise click.exceptions.Exit(1)


@cli.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--steps",
    "steps_spec",
    metavar="FIRST:LAST",
    help="Only these steps, counted from 1 as the player counts them, both ends included: "
    "3:7 is steps 3 to 7; :10 the first ten; 5: from step 5 on; -3: the last three; 7 just "
    "step 7. Default: every step.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one readable line per step. json: JSON Lines, a header describing the "
    "scenario, then one object per step (see docs/trace-format.md).",
)
@click.option(
    "--arrays",
    "arrays",
    metavar="OUT.npz",
    help="With --format json, for a network scenario: write the input, every weight and every "
    "layer's output to this NumPy file, and name them in the trace by their keys. Without it, "
    "a small network's arrays are written inline and a large one's are left out.",
)
def trace(file: str, steps_spec: str | None, fmt: str, arrays: str | None) -> None:
    """Print the steps of a scenario without opening the player.

    Each step is one number the player computes (an output cell, a hidden state's first
    unit, a gradient norm, a probability). The text format explains it in one line (a
    convolution's multiplications and sums in full); the JSON format holds everything needed
    to recompute it. Steps are numbered from 1, in the order the player shows them.

    FILE is a scenario file (.toml) or the name of a bundled scenario.
    """
    sim = load(file)
    try:
        from tui import trace as tracing  # numpy and the engine, only when tracing

        steps = tracing.parse_steps(steps_spec, len(sim))
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--steps'") from None
    if arrays is not None:
        if fmt != "json":
            raise click.BadParameter("needs --format json", param_hint="'--arrays'")
        from engine.core import Layered

        if not any(isinstance(stage, Layered) for stage in sim.stages):
            raise click.BadParameter(
                f"{sim.source} is not a network scenario; only networks have arrays to write",
                param_hint="'--arrays'",
            )
        out = output_path(arrays, "trace.npz", "'--arrays'")
        lines = tracing.json_lines(sim, steps, arrays_file=str(out))  # sizes checked first
        try:
            tracing.write_arrays(sim, str(out))
        except OSError as e:
            fail(f"cannot write {arrays}: {e.strerror or e}")
    elif fmt == "json":
        lines = tracing.json_lines(sim, steps)
    else:
        lines = tracing.text_lines(sim, steps)
    write_lines(lines)


@cli.command()
@click.argument("file", metavar="FILE")
@click.option(
    "--step",
    type=int,
    default=1,
    show_default=True,
    help="Which step to show, counted from 1 as the player counts them (for a whole network: "
    "which layer, 1 the first); negative counts from the end (-1 is the last).",
)
@click.option(
    "--size",
    "size_spec",
    default=f"{DEFAULT_SIZE[0]}x{DEFAULT_SIZE[1]}",
    show_default=True,
    metavar="COLSxROWS",
    help=f"Terminal size to draw at, in characters: from {MIN_SIZE[0]}x{MIN_SIZE[1]} "
    f"to {MAX_SIZE[0]}x{MAX_SIZE[1]}.",
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    metavar="OUT.svg",
    help="The SVG file to write. Its folder must exist; an existing file is replaced.",
)
@click.option(
    "--view",
    "view_specs",
    multiple=True,
    metavar="VIEW[,VIEW...]",
    help="Open these views first, in order, as their keys would in the player: "
    + "; ".join(f"{v.name}: {v.what}" for v in VIEWS)
    + ". Repeat the option or separate names with commas (--view heat,flip). A view the "
    "screen does not offer is an error that names the views it does offer.",
)
@click.option(
    "--unit",
    type=int,
    metavar="N",
    help="Recurrent cells: write the equations out for hidden unit N in the inspector (as "
    "pressing n N times does, before any --view), numbered as the inspector numbers them.",
)
@click.option(
    "--press",
    "key_specs",
    multiple=True,
    metavar="KEY[,KEY...]",
    help="Then press these keys, as in the player or the view on screen: right, down, ], n … "
    "(the shift view's arrows move the input, ] goes to the next residual block, n lights a "
    "network's next feature map). A key that does nothing there is an error naming the keys "
    "that do.",
)
@click.option(
    "--reproducible",
    is_flag=True,
    help="Show no figure that depends on the machine: the PyTorch badge gives the tolerance "
    "met instead of the measured max |Δ|, whose last digits depend on the CPU, the BLAS "
    "library and the thread count. For images to compare or to commit.",
)
def snapshot(
    file: str,
    step: int,
    size_spec: str,
    output: str,
    view_specs: tuple[str, ...],
    unit: int | None,
    key_specs: tuple[str, ...],
    reproducible: bool,
) -> None:
    """Save the player's screen at one step, in any of its views, as an SVG image.

    Draws exactly what `netsim FILE` would show at that step after pressing the keys of the
    views asked for, without a terminal, and writes it to OUT.svg. Nothing is written if the
    scenario has a mistake, an option is wrong or a view is not offered there. With
    --reproducible, no figure in it depends on the machine.

    \b
      netsim snapshot conv_vertical_edge -o step.svg
      netsim snapshot conv_vertical_edge --view receptive --step 5 -o field.svg
      netsim snapshot conv_vertical_edge --view heat,flip --size 200x50 -o flip.svg
      netsim snapshot rnn_step --view compact --unit 1 -o compact.svg
      netsim snapshot conv_vertical_edge --view shift --press down,down -o moved.svg
      netsim snapshot net_mlp_digits --step 1 --view layer,heat -o layer.svg

    A network scenario opens on its layer table, where --step is the layer under the cursor;
    --view layer steps through that layer in the player.

    FILE is a scenario file (.toml) or the name of a bundled scenario.
    """
    try:
        size = parse_size(size_spec)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--size'") from None
    try:
        views = parse_views(view_specs)
    except ViewError as e:
        raise click.BadParameter(str(e), param_hint=f"'{e.option}'") from None
    out = output_path(output)
    sim = load(file)
    from engine.core import Layered
    from tui.trace import step_index

    network = len(sim.stages) == 1 and isinstance(sim.stages[0], Layered)
    try:
        index = step_index(step, len(sim), what="layer" if network else "step")
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--step'") from None
    from tui.snapshot import render_svg  # looked up when drawing: the tests replace it

    chosen: dict[str, Any] = {"views": views} if views else {}
    if unit is not None:
        chosen["unit"] = unit
    if key_specs:
        chosen["keys"] = parse_keys(key_specs)
    try:
        svg = render_svg(sim, index, size, reproducible=reproducible, **chosen)
    except ViewError as e:
        raise click.BadParameter(str(e), param_hint=f"'{e.option}'") from None
    try:
        write_atomically(out, svg)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror or e}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `netsim` console script.

    Standard output that cannot be written (a full disk, ``> /dev/full``) is one line on
    stderr and exit 1, not a traceback. (Click already handles a closed pipe.)
    """
    try:
        cli.main(args=argv, prog_name="netsim")
    except (KeyboardInterrupt, SystemExit):
        raise
    except OSError as e:
        # Nothing more reaches stdout: Python would otherwise try to flush it again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        reason = e.strerror or str(e)
        if e.filename is None:  # a write to standard output, the only file without a name
            click.echo(f"Error: cannot write to standard output: {reason}", err=True)
        else:
            click.echo(f"Error: {e.filename}: {reason}", err=True)
        sys.exit(1)
    except Exception as e:
        if _debugging():
            raise
        click.echo(f"Error: {unexpected(e)}", err=True)
        sys.exit(1)
