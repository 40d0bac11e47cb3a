"""Weight files: safetensors parsed by netsim's own reader, npz without pickle, torch.save files
through torch.load(weights_only=True); every damaged or foreign file is one line, never a trace."""

from __future__ import annotations

import io
import json
import pickle
import struct
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from scenarios.weights import (
    MAX_HEADER_BYTES,
    WeightsError,
    parse_npz,
    parse_safetensors,
    parse_torch,
    read_weights,
)

torch.set_num_threads(1)


def safetensors_bytes(
    tensors: Mapping[str, tuple[str, list[int], bytes]],
    *,
    offsets: Mapping[str, list[int]] | None = None,
    metadata: dict[str, str] | None = None,
    pad: int = 0,
) -> bytes:
    """A safetensors file written by hand: name → (dtype, shape, raw little-endian bytes), the
    data back to back in order unless ``offsets`` says otherwise."""
    header: dict[str, Any] = {}
    body = b""
    for name, (dtype, shape, raw) in tensors.items():
        begin = len(body)
        body += raw
        header[name] = {
            "dtype": dtype,
            "shape": shape,
            "data_offsets": (offsets or {}).get(name, [begin, len(body)]),
        }
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode() + b" " * pad
    return struct.pack("<Q", len(text)) + text + body


def error(parse: Any, data: bytes) -> str:
    with pytest.raises(WeightsError) as info:
        parse(data)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- safetensors ---------------------------------------------------------------------------------


def test_safetensors_written_by_hand_read_back_exactly() -> None:
    w = np.arange(6, dtype="<f4").reshape(2, 3) / 7
    b = np.array([1.5, -2.25], dtype="<f8")
    n = np.array([3], dtype="<i8")
    data = safetensors_bytes(
        {
            "fc.weight": ("F32", [2, 3], w.tobytes()),
            "fc.bias": ("F64", [2], b.tobytes()),
            "bn.num_batches_tracked": ("I64", [], n.tobytes()[:8]),
        },
        metadata={"format": "pt"},
        pad=5,
    )
    out = parse_safetensors(data)
    assert list(out) == ["fc.weight", "fc.bias", "bn.num_batches_tracked"]
    np.testing.assert_array_equal(out["fc.weight"], w)
    assert out["fc.weight"].dtype == np.float32
    np.testing.assert_array_equal(out["fc.bias"], b)
    assert out["fc.bias"].dtype == np.float64
    assert out["bn.num_batches_tracked"].shape == () and out["bn.num_batches_tracked"] == 3.0


@pytest.mark.parametrize(
    ("dtype", "torch_dtype"),
    [
        ("F16", torch.float16),
        ("BF16", torch.bfloat16),
        ("F8_E5M2", torch.float8_e5m2),
        ("F8_E4M3", torch.float8_e4m3fn),
        ("I32", torch.int32),
        ("U8", torch.uint8),
        ("BOOL", torch.bool),
    ],
)
def test_every_dtype_converts_to_the_float_torch_gives(dtype: str, torch_dtype: Any) -> None:
    values = torch.tensor([-3.5, -1.0, 0.0, 0.1, 1.0, 2.75, 100.0, 0.0078125])
    if not torch_dtype.is_floating_point:
        values = values.abs()
    t = values.to(torch_dtype)
    raw = (
        t.numpy().tobytes() if torch_dtype == torch.bool else t.view(torch.uint8).numpy().tobytes()
    )
    out = parse_safetensors(safetensors_bytes({"x": (dtype, [8], raw)}))["x"]
    np.testing.assert_array_equal(out, t.to(torch.float64).numpy())


def test_the_float8_e4m3_table_matches_torch_for_every_byte() -> None:
    every = torch.arange(256, dtype=torch.uint8)
    raw = every.numpy().tobytes()
    out = parse_safetensors(safetensors_bytes({"x": ("F8_E4M3", [256], raw)}))["x"]
    expected = every.view(torch.float8_e4m3fn).to(torch.float32).numpy()
    np.testing.assert_array_equal(out, expected)  # NaN where torch has NaN


def test_a_file_from_the_safetensors_format_of_torch_tensors_round_trips() -> None:
    sd = {"conv.weight": torch.randn(4, 3, 3, 3), "conv.bias": torch.randn(4)}
    data = safetensors_bytes(
        {k: ("F32", list(v.shape), v.numpy().astype("<f4").tobytes()) for k, v in sd.items()}
    )
    out = parse_safetensors(data)
    for k, v in sd.items():
        np.testing.assert_array_equal(out[k], v.numpy())


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", ["fewer than the 8"]),
        (b"\x05\x00\x00", ["fewer than the 8"]),
        (struct.pack("<Q", MAX_HEADER_BYTES + 1) + b"{}", ["header would be", "limit"]),
        (struct.pack("<Q", 100) + b'{"a": 1}', ["truncated", "100 bytes long"]),
        (struct.pack("<Q", 4) + b"abcd", ["does not start with a JSON object"]),
        (struct.pack("<Q", 6) + b'{"a":}', ["not valid JSON"]),
        (struct.pack("<Q", 2) + b"[]", ["does not start with a JSON object"]),
        (struct.pack("<Q", 2) + b"{\xff", ["not UTF-8"]),
    ],
)
def test_a_damaged_header_is_one_line(data: bytes, words: list[str]) -> None:
    message = error(parse_safetensors, data)
    for word in words:
        assert word in message


def test_a_truncated_file_names_the_tensor_that_runs_past_the_end() -> None:
    raw = np.zeros(10, "<f4").tobytes()
    data = safetensors_bytes({"a": ("F32", [10], raw)})[:-7]
    message = error(parse_safetensors, data)
    assert "truncated" in message and "'a'" in message and "ends at byte 40" in message


def test_overlapping_offsets_are_refused_naming_both_tensors() -> None:
    raw = np.zeros(4, "<f4").tobytes()
    data = safetensors_bytes(
        {"a": ("F32", [4], raw), "b": ("F32", [4], raw)}, offsets={"b": [8, 24]}
    )
    data = data[:-8]  # the body is 24 bytes: a at 0–16, b at 8–24
    message = error(parse_safetensors, data)
    assert "overlap" in message and "'a'" in message and "'b'" in message


def test_offsets_that_disagree_with_the_shape_give_both_sizes() -> None:
    raw = np.zeros(4, "<f4").tobytes()
    data = safetensors_bytes({"a": ("F32", [5], raw)})
    message = error(parse_safetensors, data)
    assert "needs 20 bytes" in message and "give 16" in message


def test_bytes_that_belong_to_no_tensor_are_refused() -> None:
    raw = np.zeros(4, "<f4").tobytes()
    message = error(parse_safetensors, safetensors_bytes({"a": ("F32", [4], raw)}) + b"xx")
    assert "after its last tensor" in message
    gap = safetensors_bytes({"a": ("F32", [2], raw)}, offsets={"a": [8, 16]})
    assert "belong to no tensor" in error(parse_safetensors, gap)


@pytest.mark.parametrize(
    ("entry", "word"),
    [
        ({"dtype": "C64", "shape": [1], "data_offsets": [0, 8]}, "dtype 'C64'"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "shape"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "data_offsets"),
        ({"dtype": "F32", "shape": [1]}, "dtype, shape and data_offsets"),
        ([1, 2], "dtype, shape and data_offsets"),
    ],
)
def test_a_malformed_entry_is_named(entry: Any, word: str) -> None:
    text = json.dumps({"w": entry}).encode()
    message = error(parse_safetensors, struct.pack("<Q", len(text)) + text + b"\0" * 8)
    assert word in message and "'w'" in message


def test_a_name_given_twice_is_refused() -> None:
    text = (
        b'{"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]},'
        b' "w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}'
    )
    assert "twice" in error(parse_safetensors, struct.pack("<Q", len(text)) + text + b"\0")


def test_a_header_claiming_a_huge_tensor_is_refused_before_allocating() -> None:
    text = json.dumps(
        {"w": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 4 << 40]}}
    ).encode()
    message = error(parse_safetensors, struct.pack("<Q", len(text)) + text + b"\0" * 16)
    assert "truncated" in message


# -- npz -----------------------------------------------------------------------------------------


def npz_bytes(compressed: bool = False, **arrays: Any) -> bytes:
    buf = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(buf, **arrays)
    return buf.getvalue()


@pytest.mark.parametrize("compressed", [False, True])
def test_npz_keys_with_dots_read_back(compressed: bool) -> None:
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    data = npz_bytes(compressed, **{"features.0.weight": w, "features.0.bias": np.ones(3)})
    out = parse_npz(data)
    assert set(out) == {"features.0.weight", "features.0.bias"}
    np.testing.assert_array_equal(out["features.0.weight"], w)
    assert out["features.0.weight"].dtype == np.float32
    assert out["features.0.bias"].dtype == np.float64


def test_an_npz_holding_object_arrays_is_refused_as_pickled() -> None:
    buf = io.BytesIO()
    np.savez(buf, w=np.array([{"a": 1}, None], dtype=object))
    message = error(parse_npz, buf.getvalue())
    assert "holds pickled objects" in message and "'w'" in message


def test_an_npz_of_strings_is_refused() -> None:
    assert "dtype <U3" in error(parse_npz, npz_bytes(w=np.array(["abc"])))


def test_a_single_npy_file_is_told_to_use_savez() -> None:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    assert "np.savez" in error(parse_npz, buf.getvalue())


def test_a_truncated_npz_is_one_line() -> None:
    data = npz_bytes(w=np.zeros((50, 50)))
    assert "not a readable .npz" in error(parse_npz, data[: len(data) // 2])


def test_an_npz_declaring_a_huge_array_is_refused_before_reading() -> None:
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1))
    header["shape"] = (1 << 40,)
    npy = io.BytesIO()
    np.lib.format.write_array_header_1_0(npy, header)
    npy.write(b"\0" * 64)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("w.npy", npy.getvalue())
    message = error(parse_npz, buf.getvalue())
    assert "would need more than" in message


def test_an_npz_with_another_member_is_refused() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("notes.txt", "hello")
    assert "'notes.txt'" in error(parse_npz, buf.getvalue())


# -- torch.save ----------------------------------------------------------------------------------


class TwoLayers(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 3)
        self.bn = torch.nn.BatchNorm1d(3)
        self.fc2 = torch.nn.Linear(3, 2)


def saved(obj: Any, path: Path) -> Path:
    torch.save(obj, path)
    return path


@pytest.mark.parametrize("suffix", [".pt", ".pth"])
def test_a_state_dict_saved_by_torch_reads_back(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(0)
    model = TwoLayers().to(torch.float64)
    model.fc2.half()
    sd = model.state_dict()
    out = read_weights(saved(sd, tmp_path / f"w{suffix}"))
    assert list(out) == list(sd)
    for key, t in sd.items():
        np.testing.assert_array_equal(out[key], t.to(torch.float64).numpy())
    assert out["fc1.weight"].dtype == np.float64 and out["fc2.weight"].dtype == np.float32
    assert out["bn.num_batches_tracked"].dtype == np.float64


def test_a_training_checkpoint_gives_its_state_dict(tmp_path: Path) -> None:
    sd = TwoLayers().state_dict()
    out = read_weights(saved({"epoch": 3, "state_dict": sd}, tmp_path / "ckpt.pt"))
    assert set(out) == set(sd)


def test_a_whole_pickled_model_says_to_save_the_state_dict(tmp_path: Path) -> None:
    path = saved(TwoLayers(), tmp_path / "model.pt")
    with pytest.raises(WeightsError) as info:
        read_weights(path)
    message = str(info.value)
    assert "\n" not in message
    assert "pickled object" in message and "model.state_dict()" in message


def test_a_plain_pickle_is_never_unpickled(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    with pytest.raises(WeightsError) as info:
        read_weights(path)
    assert "legacy format" in str(info.value) or "plain pickle" in str(info.value)


def test_a_tensor_instead_of_a_dict_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="holds a tensor, not a state_dict"):
        read_weights(saved(torch.zeros(3), tmp_path / "t.pt"))


def test_a_dict_with_other_values_names_the_entry(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="entry 'lr' is a float"):
        read_weights(saved({"w": torch.zeros(2), "lr": 0.1}, tmp_path / "t.pt"))


def test_a_damaged_torch_file_is_one_line(tmp_path: Path) -> None:
    data = saved(TwoLayers().state_dict(), tmp_path / "w.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError) as info:
        read_weights(tmp_path / "cut.pt")
    assert "\n" not in str(info.value)


# -- files ---------------------------------------------------------------------------------------


def test_the_ending_chooses_the_format_and_others_are_refused(tmp_path: Path) -> None:
    (tmp_path / "w.bin").write_bytes(b"\0" * 16)
    with pytest.raises(WeightsError, match=r"ending '\.bin'.*\.safetensors, \.npz, \.pt, \.pth"):
        read_weights(tmp_path / "w.bin")


def test_a_missing_file_and_a_directory_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="no such file"):
        read_weights(tmp_path / "w.npz")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(WeightsError, match="is a directory"):
        read_weights(tmp_path / "d.npz")


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes({"a": ("F32", [100], b"\0" * 400)}))
    with pytest.raises(WeightsError, match="too large"):
        read_weights(path, limit=100)


def test_a_file_of_another_format_under_a_weight_ending(tmp_path: Path) -> None:
    npz = tmp_path / "w.safetensors"
    npz.write_bytes(npz_bytes(w=np.zeros(3)))
    with pytest.raises(WeightsError, match="not a safetensors file"):
        read_weights(npz)
    text = tmp_path / "w.npz"
    text.write_text("fc.weight = 1\n")
    with pytest.raises(WeightsError, match=r"not an \.npz file"):
        read_weights(text)


class Refused(Exception):
    pass


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".pt"])
def test_reserve_is_told_of_the_file_and_of_the_arrays_before_they_exist(
    tmp_path: Path, suffix: str
) -> None:
    w = np.zeros((100, 50), np.float32)
    path = tmp_path / f"w{suffix}"
    if suffix == ".safetensors":
        # float16, read as float32: a copy (float32 and float64 are views of the file's bytes)
        path.write_bytes(safetensors_bytes({"w": ("F16", [100, 50], w.astype("<f2").tobytes())}))
    elif suffix == ".npz":
        np.savez(path, w=w)
    else:
        torch.save({"w": torch.from_numpy(w)}, path)
    asked: list[int] = []
    read_weights(path, reserve=asked.append)
    assert asked[0] == path.stat().st_size and asked[1] >= w.nbytes

    calls: list[int] = []

    def refuse_the_arrays(nbytes: int) -> None:
        calls.append(nbytes)
        if len(calls) == 2:  # the file is read; the arrays are refused before they are made
            raise Refused

    with pytest.raises(Refused):
        read_weights(path, reserve=refuse_the_arrays)
    assert calls == asked[:2]


def test_an_npz_with_an_encrypted_member_is_one_line() -> None:
    data = bytearray(npz_bytes(w=np.zeros(3)))
    # Set "encrypted" (bit 0 of the general-purpose flags) in the local and central headers.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at] |= 1
    message = error(parse_npz, bytes(data))
    assert "not a readable .npz file" in message and "encrypted" in message


@pytest.mark.parametrize("kind", ["safetensors", "npz", "pt"])
def test_damaged_bytes_anywhere_are_one_line_never_a_trace(kind: str) -> None:
    """Bytes changed at random places, and files cut short: every one either reads or is a
    WeightsError, never another exception."""
    import random

    if kind == "safetensors":
        w = np.arange(30, dtype="<f4")
        data, parse = safetensors_bytes({"w": ("F32", [30], w.tobytes())}), parse_safetensors
    elif kind == "npz":
        rng = np.random.default_rng(0)
        data, parse = npz_bytes(True, w=rng.normal(size=(20, 20)), b=np.arange(5.0)), parse_npz
    else:
        buf = io.BytesIO()
        torch.save({"w": torch.randn(20, 20), "b": torch.arange(5.0)}, buf)
        data, parse = buf.getvalue(), parse_torch
    rng_ = random.Random(0)
    for _ in range(150):
        damaged = bytearray(data)
        for _ in range(rng_.randint(1, 4)):
            damaged[rng_.randrange(len(damaged))] = rng_.randrange(256)
        if rng_.random() < 0.3:
            damaged = damaged[: rng_.randrange(len(damaged))]
        try:
            parse(bytes(damaged))
        except WeightsError as e:
            assert "\n" not in str(e)


def test_float32_safetensors_are_views_of_the_file_and_cost_nothing_more(tmp_path: Path) -> None:
    w = np.arange(5000, dtype="<f4")
    path = tmp_path / "w.safetensors"
    path.write_bytes(safetensors_bytes({"w": ("F32", [5000], w.tobytes())}))
    asked: list[int] = []
    out = read_weights(path, reserve=asked.append)
    assert asked == [path.stat().st_size, 0]
    assert not out["w"].flags.owndata
