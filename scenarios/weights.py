"""Reading a network's weights: a PyTorch ``state_dict`` saved as ``.safetensors``, ``.npz``,
``.pt`` or ``.pth``, without ever unpickling anything.

- ``.safetensors`` is parsed here (an 8-byte little-endian header length, a JSON header giving
  each tensor's dtype, shape and byte range, then the raw little-endian data), so that a file
  from anywhere is read by code that only slices bytes.
- ``.npz`` goes through ``np.load(allow_pickle=False)``, after every member's ``.npy`` header
  has been read and its size added up, so that an archive claiming terabytes is refused before
  anything is allocated.
- ``.pt`` / ``.pth`` go through ``torch.load(weights_only=True)`` (PyTorch's restricted
  unpickler, which builds tensors and plain containers only) after the zip archive's declared
  sizes are checked; torch is imported only then.

Every array comes back as floating point (float32 for 16- and 32-bit floats and 8-bit floats,
float64 otherwise), keyed by the names the file gives. Nothing is copied twice: a safetensors
file's F32 and F64 tensors are read-only views of the file's bytes, a torch file's float32 and
float64 tensors are views of the tensors ``torch.load`` made, and every other array is made
once, in its final dtype; ``reserve`` is told of every array made. A file that cannot be read raises
``WeightsError`` with a one-line message that says what is wrong and what would be valid,
without the file's name (the caller knows it).
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from engine.limits import MAX_BYTES, format_bytes
from scenarios.files import FileProblem, read_bytes

MAX_WEIGHTS_BYTES = MAX_BYTES
"""Largest weight file read (1 GiB): VGG-16's 138 M float32 parameters are 553 MB."""

MAX_HEADER_BYTES = 100_000_000
"""Largest safetensors JSON header accepted; the safetensors library refuses larger ones too."""

MAX_TENSORS = 100_000
"""Most tensors one file may hold: ResNet-152 has under 1,000."""

SUFFIXES = (".safetensors", ".npz", ".pt", ".pth")
"""The weight file formats, by file-name ending."""

SAVE_HOW = (
    "save the model's weights with safetensors.torch.save_file(model.state_dict(), "
    "'w.safetensors'), np.savez('w.npz', **{k: v.numpy() for k, v in "
    "model.state_dict().items()}) or torch.save(model.state_dict(), 'w.pt')"
)


class WeightsError(ValueError):
    """A weight file that cannot be read; the message says why, on one line, without the file's
    name."""


Reserve = Callable[[int], None]
"""``reserve(nbytes)`` is told of memory about to be allocated, before it is: it may raise to
refuse (a scenario charges its memory budget this way)."""


def _no_reserve(nbytes: int) -> None:
    pass


def read_weights(
    path: Path, limit: int = MAX_WEIGHTS_BYTES, *, reserve: Reserve = _no_reserve
) -> dict[str, np.ndarray]:
    """The state_dict held by the weight file at ``path``, its format chosen by the file name's
    ending; WeightsError if the file is missing, too large, of another format, damaged, or holds
    anything but named numeric arrays.

    ``limit`` bounds the file's size and the size of the arrays read from it; ``reserve`` is
    called with the file's size before it is read and with the arrays' size before they are
    made."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise WeightsError(
            f"has the ending {suffix or '(none)'!r}; a weight file ends in {', '.join(SUFFIXES)}"
        )
    try:
        data = read_bytes(path, limit, f"{suffix} weight file", reserve)
    except FileProblem as e:
        raise WeightsError(str(e)) from None
    readers: dict[str, Callable[[bytes, int, Reserve], dict[str, np.ndarray]]] = {
        ".safetensors": parse_safetensors,
        ".npz": parse_npz,
        ".pt": parse_torch,
        ".pth": parse_torch,
    }
    return readers[suffix](data, limit, reserve)


# -- safetensors ---------------------------------------------------------------------------------


def _float8_e4m3fn() -> np.ndarray:
    """The float32 value of each of the 256 bytes of float8 e4m3fn (no infinities; 0x7F and
    0xFF are NaN)."""
    b = np.arange(256)
    sign = np.where(b & 0x80, -1.0, 1.0)
    exp = (b >> 3) & 0xF
    man = b & 0x7
    value = np.where(exp == 0, man / 8 * 2.0**-6, (1 + man / 8) * 2.0 ** (exp - 7))
    value = sign * value
    value[(b & 0x7F) == 0x7F] = np.nan
    return value.astype(np.float32)


def _from_bf16(raw: np.ndarray) -> np.ndarray:
    """bfloat16 is the top half of a float32 (shifted in place: one array is made)."""
    wide = raw.astype(np.uint32)
    wide <<= 16
    return wide.view(np.float32)


def _from_f8_e5m2(raw: np.ndarray) -> np.ndarray:
    """float8 e5m2 is the top half of a float16."""
    half = raw.astype(np.uint16)
    half <<= 8
    return half.view(np.float16).astype(np.float32)


def _from_f8_e4m3(raw: np.ndarray) -> np.ndarray:
    return _float8_e4m3fn()[raw]


_SAFETENSORS_DTYPES: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray] | None]] = {
    "F64": ("<f8", None),
    "F32": ("<f4", None),
    "F16": ("<f2", lambda a: a.astype(np.float32)),
    "BF16": ("<u2", _from_bf16),
    "F8_E5M2": ("u1", _from_f8_e5m2),
    "F8_E4M3": ("u1", _from_f8_e4m3),
    "I64": ("<i8", None),
    "I32": ("<i4", None),
    "I16": ("<i2", None),
    "I8": ("i1", None),
    "U64": ("<u8", None),
    "U32": ("<u4", None),
    "U16": ("<u2", None),
    "U8": ("u1", None),
    "BOOL": ("?", None),
}
"""safetensors dtype → (NumPy layout of its bytes, conversion to float or None)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise WeightsError(f"its safetensors header names {_quote(key)} twice")
        out[key] = value
    return out


def _quote(name: str, limit: int = 60) -> str:
    text = repr(name)
    return text if len(text) <= limit else text[: limit - 2] + "…'"


def parse_safetensors(
    data: bytes, limit: int = MAX_WEIGHTS_BYTES, reserve: Reserve = _no_reserve
) -> dict[str, np.ndarray]:
    """The tensors of a ``.safetensors`` file's bytes, converted to float; WeightsError for a
    file that is not one or is damaged: a header too long or not JSON, a dtype not known, a
    byte range that leaves the file, overlaps another or does not match its shape, bytes that
    belong to no tensor."""
    not_one = "is not a safetensors file"
    if len(data) < 8:
        raise WeightsError(
            f"{not_one}: it has {len(data)} byte(s), fewer than the 8 that give the header's length"
        )
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise WeightsError(
            f"{not_one}: its header would be {n:,} bytes long; the limit is "
            f"{MAX_HEADER_BYTES:,} (the first 8 bytes must give the JSON header's length)"
        )
    if 8 + n > len(data):
        raise WeightsError(
            f"is truncated: its header is {n:,} bytes long but only {len(data) - 8:,} bytes "
            "follow the length"
        )
    raw_header = data[8 : 8 + n]
    if not raw_header.lstrip().startswith(b"{"):
        raise WeightsError(f"{not_one}: its header does not start with a JSON object '{{'")
    try:
        header = json.loads(raw_header.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except UnicodeDecodeError as e:
        raise WeightsError(f"{not_one}: its header is not UTF-8 ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise WeightsError(
            f"{not_one}: its header is not valid JSON ({e.msg} at byte {e.pos:,})"
        ) from None
    except RecursionError:
        raise WeightsError(f"{not_one}: its header is nested too deep") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{not_one}: its header is not a JSON object")
    header.pop("__metadata__", None)
    if len(header) > MAX_TENSORS:
        raise WeightsError(f"holds {len(header):,} tensors; the limit is {MAX_TENSORS:,}")
    body = memoryview(data)[8 + n :]
    spans: list[tuple[int, int, str]] = []
    layouts: dict[str, tuple[str, tuple[int, ...], int, int]] = {}
    total = 0
    converted = 0  # F32 and F64 tensors are views of the file's bytes; the others are copies
    for name, info in header.items():
        dtype, shape, begin, end = _entry(name, info)
        itemsize = np.dtype(_SAFETENSORS_DTYPES[dtype][0]).itemsize
        count = math.prod(shape)
        if end > len(body):
            raise WeightsError(
                f"is truncated: tensor {_quote(name)} ends at byte {end:,} of the data, but the "
                f"file holds {len(body):,} bytes of data"
            )
        if end - begin != count * itemsize:
            raise WeightsError(
                f"tensor {_quote(name)} of shape {list(shape)} and dtype {dtype} needs "
                f"{count * itemsize:,} bytes, but its data_offsets [{begin}, {end}] give "
                f"{end - begin:,}"
            )
        # Floats up to 32 bits are read as float32, everything else as float64.
        total += count * (4 if dtype.startswith(("F", "BF")) and dtype != "F64" else 8)
        if dtype not in ("F32", "F64"):
            converted += count * (4 if dtype.startswith(("F", "BF")) else 8)
        if total > limit:
            raise WeightsError(
                f"would need more than {format_bytes(limit)} once converted to float"
            )
        spans.append((begin, end, name))
        layouts[name] = (dtype, shape, begin, end)
    spans.sort()
    covered = 0
    for i, (begin, end, name) in enumerate(spans):
        if begin < covered:
            other = spans[i - 1][2]
            raise WeightsError(
                f"tensors {_quote(other)} and {_quote(name)} overlap in the file's data "
                f"(bytes {begin:,}–{covered:,}); each tensor must have bytes of its own"
            )
        if begin > covered:
            raise WeightsError(
                f"bytes {covered:,}–{begin:,} of the file's data belong to no tensor; the data "
                "must be the tensors back to back"
            )
        covered = end
    if covered != len(body):
        raise WeightsError(
            f"has {len(body) - covered:,} byte(s) after its last tensor; the data must end "
            "where the last tensor does"
        )
    reserve(converted)
    out: dict[str, np.ndarray] = {}
    for name, (dtype, shape, begin, end) in layouts.items():
        layout, convert = _SAFETENSORS_DTYPES[dtype]
        arr = np.frombuffer(body[begin:end], dtype=layout).reshape(shape)
        if convert is not None:
            arr = convert(arr)
        elif arr.dtype.kind != "f":
            arr = arr.astype(np.float64)
        out[name] = np.asarray(arr, dtype=arr.dtype.newbyteorder("="), order="C")
    return out


def _entry(name: str, info: Any) -> tuple[str, tuple[int, ...], int, int]:
    """One header entry's dtype, shape and byte range, checked for form."""
    where = f"its safetensors header's entry {_quote(name)}"
    if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
        raise WeightsError(f"{where} must be an object with dtype, shape and data_offsets")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if not isinstance(dtype, str) or dtype not in _SAFETENSORS_DTYPES:
        raise WeightsError(
            f"{where} has dtype {_quote(str(dtype), 20)}; readable dtypes: "
            f"{', '.join(_SAFETENSORS_DTYPES)}"
        )
    if (
        not isinstance(shape, list)
        or len(shape) > 8
        or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
    ):
        raise WeightsError(f"{where} has shape {str(shape)[:40]}; expected a list of whole numbers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) and o >= 0 for o in offsets)
        or offsets[0] > offsets[1]
    ):
        raise WeightsError(
            f"{where} has data_offsets {str(offsets)[:40]}; expected [begin, end] with "
            "0 ≤ begin ≤ end"
        )
    return dtype, tuple(shape), offsets[0], offsets[1]


# -- npz -----------------------------------------------------------------------------------------


def parse_npz(
    data: bytes, limit: int = MAX_WEIGHTS_BYTES, reserve: Reserve = _no_reserve
) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` archive's bytes, converted to float; WeightsError for a file
    that is not one, is damaged, holds pickled objects or non-numeric arrays, or would need
    more than ``limit`` bytes."""
    if data[:6] == b"\x93NUMPY":
        raise WeightsError(
            "holds a single NumPy array (.npy), not a state_dict; save every weight under its "
            "name: np.savez('w.npz', **state_dict)"
        )
    if data[:4] != b"PK\x03\x04" and data[:4] != b"PK\x05\x06":
        raise WeightsError(
            "is not an .npz file (not a zip archive); make one with np.savez('w.npz', **state_dict)"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_TENSORS:
                raise WeightsError(f"holds {len(infos):,} arrays; the limit is {MAX_TENSORS:,}")
            total = 0
            transient = 0  # the largest array read in another dtype, until it is converted
            for info in infos:
                if not info.filename.endswith(".npy"):
                    raise WeightsError(
                        f"holds {_quote(info.filename)}, which is not a .npy array; an .npz "
                        "state_dict holds only arrays"
                    )
                with zf.open(info) as f:
                    shape, dtype = _npy_header(f, info.filename)
                count = math.prod(shape)
                wide = 4 if dtype.kind == "f" and dtype.itemsize <= 4 else 8
                total += count * wide
                if dtype != np.dtype(f"=f{wide}"):
                    transient = max(transient, count * dtype.itemsize)
                if total > limit:
                    raise WeightsError(
                        f"would need more than {format_bytes(limit)} once read as float"
                    )
        reserve(total + transient)
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            out = {}
            for key in npz.files:
                out[key] = _as_float(npz[key], key)
    except WeightsError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        RuntimeError,  # an encrypted member
        NotImplementedError,  # a compression method zipfile lacks
        zlib.error,  # a damaged compressed member
    ) as e:
        raise WeightsError(f"is not a readable .npz file ({_first_line(e)})") from None
    return out


def _npy_header(f: Any, member: str) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Shape and dtype of the ``.npy`` array ``f`` starts, read from its header alone."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = fmt.read_array_header_1_0(f)
        else:
            shape, _, dtype = fmt.read_array_header_2_0(f)
    except (ValueError, EOFError, OSError) as e:
        raise WeightsError(
            f"is not a readable .npz file: member {_quote(member)} has no valid .npy header "
            f"({_first_line(e)})"
        ) from None
    if dtype.hasobject:
        raise WeightsError(
            f"holds pickled objects (array {_quote(member.removesuffix('.npy'))} has dtype "
            f"object), which netsim never loads; save numeric arrays only"
        )
    _check_numeric(dtype, member.removesuffix(".npy"))
    return tuple(shape), dtype


def _check_numeric(dtype: np.dtype[Any], name: str) -> None:
    if dtype.kind not in "fiub" or dtype.fields is not None:
        raise WeightsError(
            f"array {_quote(name)} has dtype {dtype}; weights must be numbers (float or int)"
        )


def _as_float(arr: np.ndarray, name: str) -> np.ndarray:
    _check_numeric(arr.dtype, name)
    if arr.dtype.kind == "f" and arr.dtype.itemsize <= 4:
        return np.asarray(arr, dtype=np.float32, order="C")
    return np.asarray(arr, dtype=np.float64, order="C")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = text[0] if text else type(e).__name__
    return line if len(line) <= 120 else line[:119] + "…"


# -- torch.save ----------------------------------------------------------------------------------

_WRAPPERS = ("state_dict", "model_state_dict", "model")
"""Keys under which a training checkpoint keeps the model's state_dict."""


def parse_torch(
    data: bytes, limit: int = MAX_WEIGHTS_BYTES, reserve: Reserve = _no_reserve
) -> dict[str, np.ndarray]:
    """The state_dict of a file ``torch.save`` wrote, read with ``torch.load(weights_only=True)``
    on the CPU; WeightsError for anything else: another format, a damaged file, a pickled model
    or other objects, or more than ``limit`` bytes of data."""
    if data[:4] != b"PK\x03\x04":
        if data[:2] in (b"\x80\x02", b"\x80\x04", b"\x80\x05") or data[:1] == b"\x80":
            raise WeightsError(
                "is in PyTorch's legacy format (before 1.6) or a plain pickle, which netsim does "
                f"not read; {SAVE_HOW}"
            )
        raise WeightsError(f"is not a file torch.save wrote (not a zip archive); {SAVE_HOW}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            declared = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError) as e:
        raise WeightsError(f"is not a file torch.save wrote ({_first_line(e)})") from None
    if declared > limit:
        raise WeightsError(
            f"unpacks to {format_bytes(declared)}; the limit is {format_bytes(limit)}"
        )
    reserve(declared)
    import torch

    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True, mmap=False)
    except Exception as e:  # torch raises many types for a bad file; none may escape as a trace
        raise WeightsError(_torch_refusal(e)) from None
    return _state_dict_of(obj, torch, limit - declared, reserve)


def _torch_refusal(e: BaseException) -> str:
    """The one line saying why ``torch.load(weights_only=True)`` refused a file."""
    found = re.search(r"Unsupported (?:global|class):? (?:GLOBAL )?([\w.]+)", str(e))
    if found:
        return (
            f"holds a pickled object ({found[1]}), not a state_dict; netsim reads weights only "
            "(torch.load with weights_only=True) and never runs pickled code: save "
            "torch.save(model.state_dict(), 'w.pt')"
        )
    return f"cannot be read by torch.load(weights_only=True): {type(e).__name__}: {_first_line(e)}"


def _state_dict_of(obj: Any, torch: Any, limit: int, reserve: Reserve) -> dict[str, np.ndarray]:
    """The arrays of what ``torch.load`` returned, which must be a mapping of names to tensors
    (or a checkpoint holding one under ``state_dict``, ``model_state_dict`` or ``model``)."""
    if isinstance(obj, torch.nn.Module):  # pragma: no cover - weights_only never builds one
        raise WeightsError(
            "holds a whole model rather than a state_dict; save "
            "torch.save(model.state_dict(), 'w.pt')"
        )
    if not isinstance(obj, Mapping):
        what = "a tensor" if isinstance(obj, torch.Tensor) else f"a {type(obj).__name__}"
        raise WeightsError(
            f"holds {what}, not a state_dict (a dict of names to tensors); save "
            "torch.save(model.state_dict(), 'w.pt')"
        )
    if not all(isinstance(v, torch.Tensor) for v in obj.values()):
        inner = [
            k
            for k in _WRAPPERS
            if isinstance(obj.get(k), Mapping)
            and obj[k]
            and all(isinstance(v, torch.Tensor) for v in obj[k].values())
        ]
        if inner:
            obj = obj[inner[0]]
        else:
            bad = next(k for k, v in obj.items() if not isinstance(v, torch.Tensor))
            raise WeightsError(
                f"entry {_quote(str(bad))} is a {type(obj[bad]).__name__}, not a tensor; a "
                "state_dict maps names to tensors (save torch.save(model.state_dict(), 'w.pt'))"
            )
    for key, t in obj.items():
        if not isinstance(key, str):
            raise WeightsError(f"has the key {key!r}; a state_dict's keys are names (strings)")
        if t.is_complex() or t.is_quantized or t.layout != torch.strided:
            raise WeightsError(
                f"tensor {_quote(key)} is {t.dtype} {str(t.layout).removeprefix('torch.')}; "
                "weights must be dense real numbers"
            )
    # Tensors already float32 or float64 become NumPy views; the others are converted.
    kept = (torch.float32, torch.float64)
    converted = sum(
        t.numel() * (4 if t.is_floating_point() else 8) for t in obj.values() if t.dtype not in kept
    )
    if converted > limit:
        raise WeightsError(f"would need more than {format_bytes(limit)} once converted to float")
    reserve(converted)
    out: dict[str, np.ndarray] = {}
    for key, t in obj.items():
        t = t.detach()
        if t.is_floating_point():
            wide = t.dtype == torch.float64
            out[key] = t.to(torch.float64 if wide else torch.float32).contiguous().numpy()
        else:
            out[key] = t.to(torch.float64).contiguous().numpy()
    return out
