"""``kind = "tokens"``: a vocabulary built from a corpus, and a sentence mapped to indices and
one-hot vectors."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from engine.core import Stage
from engine.errors import SpecError
from engine.limits import MAX_CORPUS_BYTES, MAX_TOKENS, MAX_VOCABULARY
from scenarios.build import BuildContext, Problems
from scenarios.files import FileProblem, data_file, read_text
from scenarios.registry import register_kind
from scenarios.schema import ScenarioBase


class TokensScenario(ScenarioBase):
    """``kind = "tokens"``: a vocabulary built from a corpus, and one sentence mapped to indices
    and one-hot vectors, one step per token."""

    text: str = Field(strict=True)
    """The sentence to tokenize; ``<EOS>`` is added at its end."""
    level: str = Field("word", strict=True)
    """``"word"`` (lower-cased words, punctuation dropped) or ``"char"`` (every character)."""
    vocabulary_size: int = Field(10_000, strict=True)
    """Most tokens the vocabulary keeps, ``<UNK>`` and ``<EOS>`` included, ≥ 3."""
    corpus: str | None = Field(None, strict=True)
    """The text the vocabulary is built from, inline; or give ``corpus_file``."""
    corpus_file: str | None = Field(None, strict=True)
    """A UTF-8 text file to build the vocabulary from, relative to the scenario file."""
    max_tokens: int = Field(1000, strict=True)
    """Longest sentence accepted, in tokens with ``<EOS>``."""


def read_corpus(sc: TokensScenario, base: Path, problems: Problems) -> str | None:
    """The corpus text, from ``corpus`` or from ``corpus_file`` (relative to ``base``, the
    scenario file's folder); None after filing a problem."""
    if sc.corpus is not None and sc.corpus_file is not None:
        problems.add("corpus_file", "give either corpus (inline text) or corpus_file, not both")
        return None
    if sc.corpus is not None:
        return sc.corpus
    if sc.corpus_file is None:
        problems.add(
            "corpus",
            'missing; give corpus = "…" (inline text) or corpus_file = "a UTF-8 text file"',
        )
        return None
    given = sc.corpus_file
    try:
        return read_text(data_file(given, base), MAX_CORPUS_BYTES, "UTF-8 text file")
    except FileProblem as e:
        message = str(e)
        if message == "no such file":
            message = f"no such file {given!r} (looked in {base})"
        elif given.strip() and not message.startswith(repr(given)):
            message = f"{given!r} {message}"
        problems.add("corpus_file", message)
    return None


@register_kind("tokens", TokensScenario)
def build_tokens(sc: TokensScenario, ctx: BuildContext) -> list[Stage]:
    """A TokenStage: the level and sizes are checked, the vocabulary is built from the corpus
    at the same level as the text, then the text is mapped to indices."""
    from engine.tokens import (
        TokenStage,
        Vocabulary,
        check_level,
        tokenize,
        tokens_peak_bytes,
    )

    problems, base = ctx.problems, ctx.base

    level = None
    try:
        level = check_level(sc.level)
    except SpecError as e:
        problems.add(e.field, e.message)
    try:
        Vocabulary.build([], sc.vocabulary_size)  # checks the size alone
    except SpecError as e:
        level = None
        problems.add(e.field, e.message)
    corpus = read_corpus(sc, base, problems)
    if level is None or corpus is None:
        return []
    try:
        # Sizes past their own limits are the stage's to name; the budget sees them capped.
        tokens = max(1, min(sc.max_tokens, MAX_TOKENS))
        words = max(1, min(sc.vocabulary_size, MAX_VOCABULARY))
        need = tokens_peak_bytes(len(corpus.encode()), tokens, words)
        ctx.budget.charge(need, "corpus", "the vocabulary and the sentence")
        vocabulary = Vocabulary.build(tokenize(corpus, level), sc.vocabulary_size)
        return [TokenStage(sc.text, vocabulary, level, max_tokens=sc.max_tokens)]
    except SpecError as e:
        problems.add(e.field, e.message)
        return []
