"""The trained, labelled recurrent examples: every claim of their descriptions against the
numbers the stages give and the panels show, PyTorch on each (the fed-back generation included),
the held-out accuracy of the shipped weights recomputed by the engine, and the one-line errors
of the fields they use (text, vocabulary, labels, feedback, compare, weights.file)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import scenarios
from engine.deep_recurrent import DeepRecurrentStage
from engine.recurrent import RecurrentStage, one_hot_words, tokenize
from scenarios import ScenarioError
from scenarios.datasets import DATA_DIR
from scenarios.weights import read_weights
from tui.panels.deep_recurrent import compare_text, grid
from tui.panels.deep_recurrent import inspector as deep_inspector
from tui.panels.recurrent import explain_recurrent, input_label, labelled, unrolled

ATOL = 1e-12
RECORD = json.loads((DATA_DIR / "rnn_examples.json").read_text(encoding="utf-8"))["models"]


def stage_of(name: str) -> Any:
    (stage,) = scenarios.load(scenarios.resolve(name)).stages
    return stage


def description(name: str) -> str:
    return " ".join(scenarios.load(scenarios.resolve(name)).description.split())


def vocab_of(model: str) -> tuple[str, ...]:
    return tuple((DATA_DIR / f"{model}_vocab.txt").read_text(encoding="utf-8").split())


def held_out(model: str) -> list[tuple[str, str]]:
    rows = [line.split("\t") for line in (DATA_DIR / f"{model}.txt").read_text().splitlines()]
    return [(labels, text) for split, labels, text in rows if split == "test"]


def likeliest(stage: Any) -> list[str]:
    return [stage.labels[int(k)] for k in np.argmax(stage.outputs_y, axis=1)]


# -- many-to-one: sentiment -----------------------------------------------------------------------


def test_sentiment_reads_nothing_to_like_as_negative() -> None:
    stage = stage_of("rnn_many_to_one")
    assert isinstance(stage, RecurrentStage)
    text = description("rnn_many_to_one")
    assert stage.words == tuple(tokenize("There is nothing to like in this movie"))
    assert f"x⟨1⟩ … x⟨{len(stage)}⟩" in text and f"ŷ⟨{len(stage)}⟩" in text
    assert f"{len(vocab_of('rnn_sentiment'))}-word vocabulary" in text
    last = stage.step(len(stage) - 1)
    assert last.label == "negative" and stage.labels == ("negative", "positive")
    assert last.y_hat is not None
    assert f"p = {last.y_hat[0]:.5f}" in text  # "p = 0.99999"
    assert [s.has_output for s in map(stage.step, range(8))] == [False] * 7 + [True]
    shown = input_label(stage, stage.step(4)) + labelled(last.y_hat, stage.labels).plain
    assert "one-hot('like')" in shown and shown.index("negative") < shown.index("positive")


def test_sentiment_held_out_accuracy() -> None:
    stage = stage_of("rnn_many_to_one")
    rows = held_out("rnn_sentiment")
    assert "there is nothing to like in this movie" in [t for _, t in rows]
    right = 0
    for label, sentence in rows:
        other = _rerun(stage, sentence)
        right += likeliest(other)[-1] == label
    record = RECORD["rnn_sentiment"]
    assert right == record["test_correct"] == len(rows)
    assert f"all {len(rows)} held-out sentences right" in description("rnn_many_to_one")


def _rerun(stage: RecurrentStage, sentence: str) -> RecurrentStage:
    """The same weights over another sentence of the same vocabulary."""
    vocab = vocab_of("rnn_sentiment" if stage.cell == "gru" else "rnn_tagger")
    return RecurrentStage(
        one_hot_words(tokenize(sentence), vocab),
        stage.cell,
        stage.hidden_size,
        stage.weight_ih,
        stage.weight_hh,
        stage.bias_ih,
        stage.bias_hh,
        w_ya=stage.w_ya,
        b_y=stage.b_y,
        labels=list(stage.labels),
    )


# -- many-to-many: names --------------------------------------------------------------------------


def test_tagger_tags_the_names_and_nothing_else() -> None:
    stage = stage_of("rnn_many_to_many")
    text = description("rnn_many_to_many")
    assert " ".join(stage.words) == "Harry Potter and Hermione Granger invented a new spell"
    assert f"Tx = Ty = {len(stage)}" in text and f"over {stage.input_size} words" in text
    tags = likeliest(stage)
    assert tags == ["name", "name", "other", "name", "name", "other", "other", "other", "other"]
    y = stage.outputs_y
    assert np.all(y[[0, 1, 3, 4], 1] > 0.999) and np.all(y[[2, 5, 6, 7, 8], 0] > 0.5)
    diagram = unrolled(
        2, len(stage), has_output=stage.has_output, words=stage.words, tags=tags
    ).plain
    assert "[Potter]" in diagram and diagram.count("[name]") == 2  # tags so far, t ≤ 2


def test_tagger_reads_potter_by_the_word_before_it() -> None:
    stage = stage_of("rnn_many_to_many")
    other = _rerun(stage, "the potter made a new bowl for Harry")
    assert likeliest(other)[1] == "other" and likeliest(stage)[1] == "name"
    assert '"potter" is a name after a first name and an ordinary word after "the"' in (
        description("rnn_many_to_many")
    )


def test_tagger_held_out_accuracy() -> None:
    stage = stage_of("rnn_many_to_many")
    rows = held_out("rnn_tagger")
    right = 0
    for tags, sentence in rows:
        got = "".join("1" if t == "name" else "0" for t in likeliest(_rerun(stage, sentence)))
        right += got == tags
    assert right == len(rows) == RECORD["rnn_tagger"]["test_sentences_all_correct"]
    assert f"every word of the {len(rows)} held-out sentences right" in (
        description("rnn_many_to_many")
    )


# -- one-to-many: feedback ------------------------------------------------------------------------


def test_generator_feeds_its_likeliest_letter_back() -> None:
    stage = stage_of("rnn_one_to_many")
    assert stage.feedback and stage.architecture == "one_to_many"
    text = description("rnn_one_to_many")
    letters = likeliest(stage)
    assert list(stage.words[1:]) == letters[:-1]  # x⟨t⟩ = the likeliest of ŷ⟨t−1⟩
    assert letters[-1] == "<EOS>" and "<EOS>" not in letters[:-1]
    assert f"<EOS> at t = {len(stage)}" in text
    name = "".join(stage.words)
    lines = (DATA_DIR / "rnn_namegen.txt").read_text(encoding="utf-8").splitlines()
    names = [line.split("\t")[2] for line in lines]
    assert f'"{name}", one of its training names' in text and name in names
    assert ", ".join(stage.words) in text
    assert f"trained on {len(names)} first names" in text
    assert RECORD["rnn_namegen"]["greedy_from_each_letter"][stage.words[0]] == name
    # The same letter read twice, two different outputs.
    assert stage.words[3] == stage.words[5] == "n"
    assert (letters[3], letters[5]) == ("o", "<EOS>")
    assert "read at t = 4 and t = 6" in text and "(o, then <EOS>)" in text
    assert "fed back" in input_label(stage, stage.step(2))


def test_generation_is_reproduced_by_pytorch() -> None:
    import torch

    stage = stage_of("rnn_one_to_many")
    hidden, _, y = stage.reference_run()
    np.testing.assert_allclose(stage.output, hidden, rtol=0, atol=ATOL)
    np.testing.assert_allclose(stage.outputs_y, y, rtol=0, atol=ATOL)
    # PyTorch's own generation, one step at a time from x⟨1⟩, feeding its argmax back.
    module = stage.torch_module()
    vocab = vocab_of("rnn_namegen")
    x = torch.from_numpy(np.array(stage.x[:1]))[None]  # (1, 1, V)
    state, letters = None, [stage.words[0]]
    with torch.no_grad():
        for _ in range(20):
            out, state = module(x, state)
            logits = torch.from_numpy(np.array(stage.w_ya)) @ out[0, -1]
            k = int(torch.argmax(logits + torch.from_numpy(np.array(stage.b_y))))
            if stage.labels[k] == "<EOS>":
                break
            letters.append(stage.labels[k])
            x = torch.zeros(1, 1, len(vocab), dtype=torch.float64)
            x[0, 0, vocab.index(stage.labels[k])] = 1.0
    assert tuple(letters) == stage.words


# -- bidirectional: Teddy -------------------------------------------------------------------------


def test_only_the_backward_half_tells_teddy_apart() -> None:
    stage = stage_of("rnn_bidirectional")
    assert isinstance(stage, DeepRecurrentStage) and stage.compare is not None
    other = stage.compare
    text = description("rnn_bidirectional")
    h = stage.hidden_size
    assert f"({['one', 'two', 'three', 'four'][h - 1]} hidden units per direction)" in text
    t = stage.words.index("Teddy")
    assert other.words[t] == "Teddy" and f'"Teddy" (t = {t + 1})' in text
    assert stage.words[: t + 1] == other.words[: t + 1]
    mine, theirs = stage.output[t], other.output[t]
    assert np.array_equal(mine[:h], theirs[:h])  # a→⟨4⟩: the same words so far
    assert np.abs(mine[h:] - theirs[h:]).max() > 0.5  # a←⟨4⟩: different words after
    p, q = float(stage.outputs_y[t, 1]), float(other.outputs_y[t, 1])
    assert f"P(name) is {p:.4f} here against {q:.3f} there" in text
    assert likeliest(stage)[t] == "name" and likeliest(other)[t] == "other"
    # The logits differ only through W_ya's backward columns.
    w = np.array(stage.w_ya)
    gap = w @ mine - w @ theirs
    np.testing.assert_allclose(gap, w[:, h:] @ (mine[h:] - theirs[h:]), rtol=0, atol=1e-12)
    # What the screen shows at the output step for "Teddy".
    step = stage.step(stage.num_layers * stage.directions * stage.steps_per_sweep + t)
    shown = deep_inspector(stage, step).plain
    assert f"{p:.4f} here" in shown and "max |a→⟨t⟩ − a→′⟨t⟩| = 0\n" in shown
    assert "max |a←⟨t⟩ − a←′⟨t⟩| = 0\n" not in shown
    forward = compare_text(stage, stage.step(stage.cell_index(0, 0, t + 1))).plain
    assert "the words up to here are the same, so the states are equal" in forward
    backward = compare_text(stage, stage.step(stage.cell_index(0, 1, t + 1))).plain
    assert "the words from here to the end are different" in backward
    table = grid(stage, step).plain
    assert "P(name)" in table and "P′(name)" in table and "Roosevelt" in table


def test_bidirectional_agrees_with_pytorch_on_both_sentences() -> None:
    stage = stage_of("rnn_bidirectional")
    for run in (stage, stage.compare):
        top, y = run.reference_run()
        np.testing.assert_allclose(run.output, top, rtol=0, atol=ATOL)
        np.testing.assert_allclose(run.outputs_y, y, rtol=0, atol=ATOL)
    desc = stage.describe()
    assert desc["labels"] == ["other", "name"] and desc["compare"]["words"][4] == "bears"


def test_bidirectional_held_out_accuracy() -> None:
    stage = stage_of("rnn_bidirectional")
    vocab = vocab_of("rnn_teddy")
    rows = held_out("rnn_teddy")
    texts = [t for _, t in rows]
    assert "he said , teddy roosevelt was a great president" in texts
    assert "he said , teddy bears are on sale" in texts
    right = 0
    for tags, sentence in rows:
        run = DeepRecurrentStage(
            one_hot_words(tokenize(sentence), vocab),
            "gru",
            4,
            1,
            True,
            dict(stage.params),
            labels=["other", "name"],
        )
        right += "".join("1" if t == "name" else "0" for t in likeliest(run)) == tags
    assert right == len(rows) == RECORD["rnn_teddy"]["test_sentences_all_correct"]


# -- the shipped files ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["rnn_sentiment", "rnn_tagger", "rnn_namegen", "rnn_teddy"])
def test_shipped_weights_are_what_the_record_says(model: str) -> None:
    sd = read_weights(DATA_DIR / f"{model}.npz")
    record = RECORD[model]
    h = record["hidden_size"]
    gates = 3 if record["cell"] == "gru" else 1
    key = "weight_hh_l0" if record.get("bidirectional") else "weight_hh"
    assert sd[key].shape == (gates * h, h)
    assert sd["w_ya"].shape[0] == len(record["labels"])
    assert len(vocab_of(model)) == record["vocabulary_size"]


# -- errors ---------------------------------------------------------------------------------------

HEAD = 'kind = "recurrent"\ntitle = "t"\ncell = "rnn"\nhidden_size = 2\n'
VOCAB = 'vocabulary = ["a", "b", "<x>"]\n'


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (HEAD + 'text = "a b"\ninput = [[1]]\n' + VOCAB, "text", "not both"),
        (HEAD + 'text = "a b"\n', "vocabulary", "missing"),
        (HEAD + 'text = "a c"\n' + VOCAB, "text", "word 2 'c' is not in the vocabulary"),
        (HEAD + 'text = "a"\nvocabulary = []\n', "vocabulary", "is empty"),
        (HEAD + 'text = "a"\nvocabulary = 3\n', "vocabulary", "a list of tokens (strings)"),
        (HEAD + 'text = "a"\nvocabulary = ["a", 1]\n', "vocabulary", "entry 1 is 1"),
        (HEAD + 'text = "a"\nvocabulary = ["a", "A"]\n', "vocabulary", "listed twice"),
        (HEAD + 'text = "  "\n' + VOCAB, "text", "has no words"),
        (HEAD + 'text = "a"\nvocabulary = "nowhere.txt"\n', "vocabulary", "nowhere.txt"),
        (HEAD + "input = [[1]]\n" + VOCAB, "vocabulary", "is for text"),
        (HEAD + 'text = "a b"\n' + VOCAB + 'labels = ["x"]\noutput_size = 2\n', "labels", "1"),
        (HEAD + 'text = "a b"\n' + VOCAB + 'labels = ["x", "x"]\n', "labels", "its own"),
        (
            HEAD + 'text = "a b"\n' + VOCAB + 'labels = ["a", "b"]\nfeedback = true\n',
            "feedback",
            "only a one_to_many",
        ),
        (
            HEAD
            + 'architecture = "one_to_many"\ndecoder_steps = 3\ntext = "a"\n'
            + VOCAB
            + 'labels = ["a", "z", "<EOS>"]\nfeedback = true\n',
            "labels[1]",
            "'z' is not in the vocabulary",
        ),
        (HEAD + "input = [[1]]\nfeedback = true\n", "feedback", "needs text"),
        (
            HEAD + 'architecture = "one_to_many"\ndecoder_steps = 2\ntext = "a b"\n' + VOCAB,
            "text",
            "expected 1 word, got 2",
        ),
        (HEAD + 'input = [[1]]\n[weights]\nfile = "none.npz"\n', "weights.file", "none.npz"),
        (
            HEAD + 'input = [[1]]\n[weights]\nfile = "w.npz"\nweight_hh = [[1, 0], [0, 1]]\n',
            "weights.file",
            "not both",
        ),
    ],
)
def test_errors(load_text: Callable[..., Any], text: str, field: str, words: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_text(text)
    ((got_field, message),) = info.value.problems
    assert got_field == field, message
    assert words in message
    line = str(info.value)
    assert "\n" not in line and f": {field}: " in line


def test_weights_file_with_a_stranger_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", weight_ih=np.zeros((2, 3)), conv1_weight=np.zeros(2))
    (tmp_path / "s.toml").write_text(
        HEAD + 'text = "a"\n' + VOCAB + '[weights]\nfile = "w.npz"\n', encoding="utf-8"
    )
    with pytest.raises(ScenarioError) as info:
        scenarios.load(tmp_path / "s.toml")
    ((field, message),) = info.value.problems
    assert field == "weights.file" and "'conv1_weight'" in message and "valid:" in message


def test_deep_weights_file_and_compare_errors(tmp_path: Path) -> None:
    shutil.copy(DATA_DIR / "rnn_teddy.npz", tmp_path / "teddy.npz")
    shutil.copy(DATA_DIR / "rnn_teddy_vocab.txt", tmp_path / "vocab.txt")
    base = (
        'kind = "deep_recurrent"\ntitle = "t"\ncell = "gru"\nhidden_size = 4\n'
        'bidirectional = true\nvocabulary = "vocab.txt"\nlabels = ["other", "name"]\n'
        'text = "he said , teddy bears are on sale"\n'
    )
    path = tmp_path / "s.toml"
    path.write_text(base + '[weights]\nfile = "teddy.npz"\n', encoding="utf-8")
    (stage,) = scenarios.load(path).stages
    assert likeliest(stage)[3] == "other"
    path.write_text(base + 'compare = "he said , teddy cats"\n[weights]\nfile = "teddy.npz"\n')
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    ((field, message),) = info.value.problems
    assert field == "compare" and "'cats'" in message
    path.write_text(base.replace('"name"]', '"name", "toy"]') + '[weights]\nfile = "teddy.npz"\n')
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    ((field, message),) = info.value.problems
    assert field == "labels" and "3 names for the 2 outputs" in message
    path.write_text(base + '[weights]\nfile = "teddy.npz"\nw_ya = [[1, 2]]\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        scenarios.load(path)
    assert info.value.problems[0][0] == "weights.file"


def test_panel_names_the_likeliest_label_first() -> None:
    text = labelled(np.array([0.1, 0.7, 0.2]), ("a", "b", "c")).plain
    assert text.index("b") < text.index("c") < text.index("a")
    many = labelled(np.full(8, 1 / 8), tuple("abcdefgh")).plain
    assert "+ 5 more" in many
    stage = stage_of("rnn_many_to_many")
    assert "the weight of 'Potter'" in explain_recurrent(stage, stage.step(1)).plain
