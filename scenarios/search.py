"""What the scenario kinds that end in a beam search share: reading B, α and max_length."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from engine.errors import SpecError
from scenarios.build import Problems


class SearchFields(Protocol):
    """The fields of a scenario that runs a beam search."""

    beam_width: Any
    alpha: Any
    max_length: Any


def search_settings(
    sc: SearchFields,
    problems: Problems,
    extra: tuple[tuple[Callable[[Any], Any], str, Any], ...] = (),
) -> dict[str, Any] | None:
    """``beam_width``, ``alpha`` and ``max_length`` (and each ``(check, name, value)`` of
    ``extra``) checked, by field name; None if any is wrong, after every problem is said."""
    from engine.beam import check_alpha, check_beam_width, check_search_length

    settings: dict[str, Any] = {}
    checks = (
        (check_beam_width, "beam_width", sc.beam_width),
        (check_alpha, "alpha", sc.alpha),
        (check_search_length, "max_length", sc.max_length),
        *extra,
    )
    for check, name, value in checks:
        try:
            settings[name] = check(value)
        except SpecError as e:
            problems.spec_error(e)
    return settings if len(settings) == len(checks) else None


def check_reference(model: Any, reference: str | None, problems: Problems) -> None:
    """Say under ``reference`` a y* the model cannot write (an unknown token, too long); needs
    only the model's ``vocabulary`` and ``eos``, so it runs before anything is built."""
    if reference is None:
        return
    from engine.beam import reference_ids

    try:
        reference_ids(model, reference)
    except SpecError as e:
        problems.spec_error(e)


def search_stage(
    decoder: Any,
    settings: dict[str, Any],
    problems: Problems,
    *,
    reference: str | None,
    remake: Callable[[str], Any] | None,
    text: str | None,
    field: str,
) -> Any:
    """The BeamSearchStage over ``decoder`` with the checked ``settings``, or None after its
    problem is said."""
    from engine.beam import BeamSearchStage

    try:
        return BeamSearchStage(
            decoder,
            settings["beam_width"],
            settings["max_length"],
            settings["alpha"],
            reference_text=reference,
            name="beam",
            remake=remake,
            text=text,
            text_field=field,
        )
    except SpecError as e:
        problems.spec_error(e)
        return None
