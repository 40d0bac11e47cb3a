"""Generate ``scenarios/data/sentences.txt``: a few thousand short English sentences.

The word-level language model (``scripts/train_word_lm.py``) is trained on these. They come
from a tiny grammar written here and a seeded NumPy generator, nothing is downloaded::

    sentence → subject verb-phrase [time] "."
    subject  → name | determiner [adjective] animal
    verb-phrase → intransitive [preposition the/my place] | "eats" food
                | transitive (determiner animal | name) | "likes" food

e.g. "The cat sleeps in my garden today.", "A dog eats fish.", "Anna sees a fox today."

The grammar has two kinds of word on purpose. Its 46 *common* words (determiners, a few
animals, names, verbs, foods, places and time words) each occur dozens of times or more, so a
vocabulary of 48 tokens (``<UNK>``, ``<EOS>`` and those 46) keeps all of them. The animal, name
and food slots are also filled, now and then, from long lists of *rare* words ("zebra",
"walrus", "Priya", "mango", …), each used at most ``RARE_REPEATS`` times in the whole file. No
rare word can make the cut, so all of them become ``<UNK>``: the model learns where an unknown
word is likely (after "the", at the start of a sentence) without learning the word.

Sentences are capitalised and end with a full stop, as written English does; word-level
tokenization lower-cases and drops the punctuation. One sentence per line.

Run from the repository root::

    python scripts/make_sentences.py

The output is the same on every run (seed ``SEED``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "scenarios" / "data" / "sentences.txt"
SEED = 7
"""Seed of the generator: the same sentences every run."""
COUNT = 2500
"""How many sentences to write (repeats allowed: common sentences recur, as in real text)."""
RARE_REPEATS = 5
"""Most times one rare word is used in the whole file: far below any common word's count."""


def _words(text: str) -> list[str]:
    """The words of a block of text: long lists read better as wrapped prose than as literals."""
    return text.split()


DETERMINERS = ["the", "a", "my"]
ADJECTIVES = ["big", "small", "young", "happy"]
"""None starts with a vowel, so "a" always reads right before them."""
ANIMALS = ["cat", "dog", "bird", "fox", "cow"]
NAMES = ["tom", "anna", "sam", "lucy"]
INTRANSITIVE = ["sleeps", "runs", "sings", "sits", "waits"]
TRANSITIVE = ["sees", "likes", "chases"]
FOODS = ["fish", "milk", "bread", "cheese"]
PLACES = {
    "on": ["mat", "bed"],
    "in": ["garden", "house"],
    "under": ["tree", "bed"],
    "near": ["door", "tree", "house"],
}
"""The places each preposition goes with ("on the mat", never "on the garden")."""
TIMES = ["all day", "at night", "every morning", "today"]
"""Phrases that close a sentence: after them comes only the full stop, i.e. <EOS>."""

RARE_ANIMALS = _words("""
aardvark alpaca antelope armadillo baboon badger beaver bison boar buffalo camel caribou
chameleon cheetah chimpanzee chinchilla cobra condor coyote crane crocodile dingo dolphin
donkey dormouse eagle eel elephant elk emu falcon ferret flamingo gazelle gecko gerbil
gibbon giraffe goat gopher gorilla hamster hare hedgehog heron hippo hyena ibis iguana
impala jackal jaguar kangaroo kiwi koala lemur leopard lion llama lobster lynx magpie
manatee meerkat mink mole mongoose moose narwhal newt ocelot octopus okapi opossum orca
ostrich otter owl panda panther parrot peacock pelican penguin pheasant platypus porcupine
possum puffin python quail rabbit raccoon ram raven reindeer rhino salamander seal shark
skunk sloth snail sparrow squid squirrel stork swan tapir tiger toad toucan turkey turtle
vulture wallaby walrus warthog weasel whale wolf wombat woodpecker yak zebra albatross
anteater bat bee beetle butterfly canary cricket crow deer dove duck frog gnu goose
grasshopper hawk hornet jellyfish ladybird lark lizard mackerel mouse mule nightingale oriole
oyster pig pigeon pony robin salmon scorpion sheep shrimp spider starling tortoise trout wasp
worm wren
""")
"""Animals used only a few times each: every one of them is <UNK> to the model."""
RARE_NAMES = _words("""
aaron abigail ada ahmed aiko akira alba aleksander amara amir ana andre anika aria arjun
astrid aya beatrix boris bruno camila carmen chen chloe dara dev diego dmitri elena elias
elif emeka esme fatima felix freya gaia hana hugo ines ivan jamal jin joao kai kamala kenji
lars leila lena luca maya mei mina nadia nico nina noor olga omar oscar pablo priya rafael
ravi rosa sami sara sofia tariq thea uma vera yara yusuf zara zoe
""")
"""Names used only a few times each (chosen from many languages; no real people meant)."""
RARE_FOODS = _words("""
almonds apricots avocado bagels barley beans berries biscuits broccoli cabbage carrots
cashews cereal cherries chestnuts corn cucumber dates figs grapes honey hummus kale lentils
lettuce mango melon muesli noodles oats olives pancakes peaches peanuts pears peas plums
porridge pumpkin raisins rice spinach tofu yoghurt asparagus beetroot blueberries brownies
buns celery chickpeas coconut cranberries croissants custard dumplings garlic granola guava jam
leeks lychees macaroni marmalade mushrooms nectarines onions papaya parsnips pasta pistachios
popcorn potatoes prunes quinoa radishes salad sardines soup strawberries toast tomatoes turnips
waffles walnuts watermelon
""")
"""Foods used only a few times each."""

RARE_RATE = 0.3
"""Chance that an animal, name or food slot takes a rare word (while any is left to use)."""


class Slot:
    """A slot of the grammar: a common word, or now and then a rare one, each rare word
    handed out at most ``RARE_REPEATS`` times (so the tail stays a tail)."""

    def __init__(self, rng: np.random.Generator, common: Sequence[str], rare: Sequence[str]):
        self.rng = rng
        self.common = list(common)
        pool = [w for w in rare for _ in range(RARE_REPEATS)]
        self.rare = [pool[int(k)] for k in rng.permutation(len(pool))]

    def pick(self) -> str:
        if self.rare and self.rng.random() < RARE_RATE:
            return self.rare.pop()
        return pick(self.rng, self.common)


def pick(rng: np.random.Generator, items: Sequence[str]) -> str:
    return items[int(rng.integers(len(items)))]


def sentence(rng: np.random.Generator, animal: Slot, name: Slot, food: Slot) -> str:
    """One sentence of the grammar above, capitalised, with a full stop."""

    def noun_phrase() -> str:
        if rng.random() < 0.25:
            return name.pick().capitalize()
        determiner = pick(rng, DETERMINERS)
        adjective = f"{pick(rng, ADJECTIVES)} " if rng.random() < 0.3 else ""
        noun = animal.pick()
        if determiner == "a" and not adjective and noun[0] in "aeiou":
            determiner = "the"  # not "a otter"; "an" would be one more word for a rare case
        return f"{determiner} {adjective}{noun}"

    words = [noun_phrase()]
    kind = rng.random()
    if kind < 0.45:
        words.append(pick(rng, INTRANSITIVE))
        if rng.random() < 0.6:
            preposition = pick(rng, list(PLACES))
            place_det = "the" if rng.random() < 0.7 else "my"
            words.append(f"{preposition} {place_det} {pick(rng, PLACES[preposition])}")
    elif kind < 0.7:
        words.append(f"eats {food.pick()}")
    elif kind < 0.8:
        words.append(f"likes {food.pick()}")
    else:
        words.append(f"{pick(rng, TRANSITIVE)} {noun_phrase()}")
    if rng.random() < 0.5:
        words.append(pick(rng, TIMES))
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def sentences(count: int = COUNT, seed: int = SEED) -> list[str]:
    """``count`` sentences, in the order drawn."""
    rng = np.random.default_rng(seed)
    animal = Slot(rng, ANIMALS, RARE_ANIMALS)
    name = Slot(rng, NAMES, RARE_NAMES)
    food = Slot(rng, FOODS, RARE_FOODS)
    out = [sentence(rng, animal, name, food) for _ in range(count)]
    # A dry pool would make the last sentences free of rare words: the pools are sized so that
    # every slot had its RARE_RATE chance to the end.
    assert animal.rare and name.rare and food.rare, "a rare-word pool ran dry"
    return out


def main() -> None:
    out = sentences()
    assert all(s.isascii() and s.endswith(".") for s in out)
    OUT.write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(out)} sentences, {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
