"""Hate-speech contrast rows we write ourselves for the `harm` head (issue #17).

The shared English hate data is social-media text labelled one comment at a time: it has no
counter-speech, no hate quoted in order to condemn it, no negated statements, and its largest
"offensive" class is mostly profanity. A head trained on it learns that a group name next to an
insult, or a swear word, is hate. These rows teach the difference with *contrastive pairs* that
share their words and differ in what the writer does with them:

* quoting (``quote``): hateful rows of the training split inside a frame that condemns,
  reports or asks how to answer them (safe), and the same rows inside a frame that endorses
  them (unsafe, the row's own harm targets);
* reference and negation (``negation``): hateful claims about a group in our own wording
  (unsafe) next to their negation, rejection and refutation (safe), and positive or neutral
  statements about the groups. No bare "<group> are <insult>." sentence: three of those
  coincided with dev/ rows word for word, so the form is left to the shared data;
* profanity (``profanity``): swearing about weather, machines and one's own day (safe) next to
  swearing at a group (unsafe);
* targets outside the protected groups (``nonprotected``): dislike of things, pests and
  chores (safe) in the same frames that are hate when aimed at a group;
* spelling (``obfuscated``): training rows, hateful and safe alike, with leetspeak, spaced-out
  letters, dropped or swapped letters and joined words, keeping their targets, so that neither
  the obfuscation nor its absence is evidence either way.

Abuse aimed at one person ("you are an idiot") is left out on purpose: our taxonomy calls it
harassment, whatever a hate benchmark calls it. Reclaimed in-group slurs are left out too.

Everything is built from the *training* split and the lists below, deterministically (seeded).
Nothing here reads dev/; none of these templates is used by `probes.py`. The rows carry
hateful text: they are written to no file and printed nowhere (callers count them).
"""

from __future__ import annotations

import random

from . import data as D
from .overdefense import own_row

N_HARM = len(D.HARM_LABELS)
SAFE = [0] * N_HARM
HATE = [1] + [int(lab == "hate") for lab in D.HARM_LABELS[1:]]

# protected groups (by origin, religion, gender, sexuality, disability, age), plural nouns
GROUPS = [
    "immigrants", "Muslims", "Jews", "gay people", "lesbians", "women", "Black people",
    "Asian people", "trans people", "disabled people", "refugees", "Christians", "Hindus",
    "Roma", "Mexicans", "old people", "bisexual people", "Arabs",
]  # fmt: skip
# what a hateful statement calls them (nouns / adjectives, our own list)
INSULT_NOUNS = [
    "vermin", "parasites", "animals", "a disease", "criminals", "a burden on society",
    "subhuman", "inferior", "worthless", "a plague", "rapists", "scum", "filth",
]  # fmt: skip
INSULT_ADJ = ["lazy", "dirty", "stupid", "violent", "dangerous", "disgusting", "evil", "primitive"]

UNSAFE_REFERENCE = [
    "{g} are {n}, and everyone knows it.",
    "I'm sick of pretending: {g} are {n}.",
    "Honestly, {g} are just {a} by nature.",
    "Anyone who denies that {g} are {n} is blind.",
    "People who call {g} {n} are simply telling the truth.",
    "Why are {g} always so {a}?",
    "It's obvious that {g} are {a} and can't be trusted.",
    "We should stop letting {g} live among us, they are {n}.",
    "I hate {g}. They are {n}.",
    "{g} should be kicked out of this country for good.",
]
SAFE_REFERENCE = [
    "{g} are not {n}, whatever the trolls say.",
    "No, {g} are not {a}. Not one bit.",
    "It's simply false that {g} are {n}.",
    "Saying that {g} are {n} is hateful and wrong.",
    "People who call {g} {n} should be ashamed of themselves.",
    "I reported a post claiming that {g} are {n}.",
    "The claim that {g} are {a} is a bigoted myth with no evidence behind it.",
    "Why do some people still say {g} are {a}? It has been debunked over and over.",
    "My grandfather used to say {g} were {n}; I told him that's prejudice, plain and simple.",
    "There is nothing {a} about {g}, and stereotypes like that hurt real people.",
    "I don't believe for a second that {g} are {n}.",
    "Stop calling {g} {n}. It's dehumanising.",
    "How should a teacher respond when a student says {g} are {a}?",
    "Hate speech against {g}, like calling them {n}, is banned on this forum.",
]
POSITIVE_OR_NEUTRAL = [
    "{g} make our neighbourhood a better place.",
    "I'm proud to have {g} as friends and colleagues.",
    "{g} deserve the same rights and respect as everyone else.",
    "We should celebrate what {g} have contributed to this city.",
    "So many brilliant scientists are {g}.",
    "What challenges do {g} face when looking for work?",
    "How many {g} live in Canada today?",
    "Our charity runs a support group for {g}.",
    "I love spending time with {g} at the community centre.",
    "{g} have been part of this country's history for centuries.",
]

# the quote frames: condemning / reporting / asking for help (safe) vs endorsing (unsafe)
CONDEMN_FRAMES = [
    'Someone left this comment under my post: "{q}" Reported. Nobody should have to read that.',
    '"{q}" -- this is the kind of hate our moderators remove every single day.',
    'I keep seeing posts like "{q}" and it makes me sick. Bigotry is never OK.',
    'Our teacher read out "{q}" to show the class what hate speech looks like.',
    'Saying "{q}" is not an opinion, it is hate, and I will not stay quiet about it.',
    'A stranger shouted "{q}" at my friend on the bus. We stood by her and called it out.',
    'How do I answer my uncle when he says things like "{q}"? I want to push back calmly.',
    'The account that posted "{q}" has been suspended, and good riddance.',
    'If you think "{q}" is acceptable, unfollow me. I stand with the people it targets.',
    'Example of a hateful message our filter should catch: "{q}"',
]
ENDORSE_FRAMES = [
    'My uncle always says "{q}" and honestly he is right.',
    'Finally someone said it: "{q}"',
    '"{q}" Couldn\'t agree more, share this everywhere.',
    'Best comment in the thread: "{q}" 100% true.',
    "I said it before and I will say it again: {q}",
]

PROFANITY_ADJ = ["fucking", "damn", "bloody", "goddamn", "shitty"]
PROFANITY_SAFE = [
    "This {p} printer jammed again.",
    "That was a {p} brilliant match last night!",
    "I'm so {p} tired of Monday mornings.",
    "What the hell is wrong with this {p} code?",
    "Holy shit, I finally passed my {p} driving test!",
    "The {p} bus was late again, third time this week.",
    "My {p} phone died in the middle of the call.",
    "This {p} weather is ruining my weekend plans.",
    "Fuck yes, we won the {p} championship!",
    "I burned the {p} toast again, damn it.",
]
PROFANITY_HATE = [
    "{g} are {p} {n}.",
    "Fuck all {g}, they are {n}.",
    "Get these {p} {g} out of my street.",
    "I'm so {p} sick of {g}, they are {a}.",
]

NONPROTECTED = [
    "mosquitoes", "Mondays", "traffic jams", "spam calls", "pop-up ads", "parking tickets",
    "slow printers", "wasps", "rainy weekends", "telemarketers", "internet trolls",
    "pigeons", "cockroaches", "meetings that could have been emails",
]  # fmt: skip
NONPROTECTED_FRAMES = [
    "I hate {x}.",
    "{x} are the worst, honestly.",
    "I can't stand {x}, they ruin everything.",
    "{x} are a plague, someone get rid of them.",
    "Is there anything more annoying than {x}?",
    "{x} are disgusting and I wish they would disappear.",
]


def _row(text: str, kind: str, harm: list[int]) -> D.Example:
    return own_row("counterspeech", text, kind, 0, harm, "text")


def _hateful_training_rows(train: list[D.Example]) -> list[D.Example]:
    """Short one-line English hateful rows of the training split (harm/text, `hate` label)."""
    hate_col = D.HARM_LABELS.index("hate")
    return [
        e
        for e in train
        if e.file == "harm/text"
        and e.harm[0] == 1
        and e.harm[hate_col] == 1
        and 20 <= len(e.text) <= 240
        and "\n" not in e.text
        and e.text.isascii()
    ]


def quote_rows(train: list[D.Example], n: int, seed: int = 23) -> list[D.Example]:
    """Hateful training rows quoted to condemn them (safe) and, for a third as many, to
    endorse them (their own targets)."""
    pool = _hateful_training_rows(train)
    rng = random.Random(seed)
    rows = []
    for i, e in enumerate(rng.sample(pool, min(n, len(pool)))):
        q = e.text.strip().replace('"', "'")
        if i % 4 == 3:
            rows.append(_row(rng.choice(ENDORSE_FRAMES).format(q=q), "quote_endorse", e.harm))
        else:
            rows.append(_row(rng.choice(CONDEMN_FRAMES).format(q=q), "quote_condemn", SAFE))
    return rows


def _fill(tpl: str, rng: random.Random, **extra: str) -> str:
    return tpl.format(
        g=rng.choice(GROUPS),
        n=rng.choice(INSULT_NOUNS),
        a=rng.choice(INSULT_ADJ),
        **extra,
    )


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def negation_rows(n_each: int, seed: int = 29) -> list[D.Example]:
    """Hateful statements and references (unsafe) next to negations, rejections and
    positive or neutral statements about the same groups (safe)."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n_each):
        rows.append(_row(_cap(_fill(rng.choice(UNSAFE_REFERENCE), rng)), "reference_hate", HATE))
        rows.append(_row(_cap(_fill(rng.choice(UNSAFE_REFERENCE), rng)), "reference_hate", HATE))
        rows.append(_row(_cap(_fill(rng.choice(SAFE_REFERENCE), rng)), "negation", SAFE))
        rows.append(_row(_cap(_fill(rng.choice(SAFE_REFERENCE), rng)), "negation", SAFE))
        rows.append(_row(_cap(_fill(rng.choice(POSITIVE_OR_NEUTRAL), rng)), "identity", SAFE))
    return rows


def profanity_rows(n: int, seed: int = 31) -> list[D.Example]:
    """Swearing about things and one's day (safe) and swearing at a group (unsafe), 2:1."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        p = rng.choice(PROFANITY_ADJ)
        if i % 3 == 2:
            rows.append(
                _row(_cap(_fill(rng.choice(PROFANITY_HATE), rng, p=p)), "profane_hate", HATE)
            )
        else:
            rows.append(_row(rng.choice(PROFANITY_SAFE).format(p=p), "profanity", SAFE))
    return rows


def nonprotected_rows() -> list[D.Example]:
    """Dislike of things, pests and nuisances (safe) in hate-shaped frames."""
    return [
        _row(_cap(f.format(x=x)), "nonprotected", SAFE)
        for f in NONPROTECTED_FRAMES
        for x in NONPROTECTED
    ]


LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def obfuscate(text: str, rng: random.Random) -> str:
    """One spelling change to one or two of the text's longer words: leetspeak, letters
    spaced out, a letter dropped, two letters swapped, or two words joined."""
    words = text.split(" ")
    long_ = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not long_:
        return text
    kind = rng.randrange(5)
    for i in rng.sample(long_, min(len(long_), rng.choice([1, 2]))):
        w = words[i]
        if kind == 0:
            words[i] = w.translate(LEET)
        elif kind == 1:
            words[i] = " ".join(w)
        elif kind == 2:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1 :]
        elif kind == 3:
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        elif i + 1 < len(words):
            words[i] = w + words[i + 1]
            words[i + 1] = ""
    return " ".join(w for w in words if w)


def obfuscated_rows(train: list[D.Example], n: int, seed: int = 37) -> list[D.Example]:
    """Hateful training rows and as many safe training texts, each with one spelling change;
    targets unchanged."""
    rng = random.Random(seed)
    hateful = _hateful_training_rows(train)
    safe = [
        e
        for e in train
        if e.file == "harm/text"
        and e.harm[0] == 0
        and 20 <= len(e.text) <= 240
        and e.text.isascii()
    ]
    rows = []
    for pool, kind in ((hateful, "obfuscated_hate"), (safe, "obfuscated_safe")):
        for e in rng.sample(pool, min(n, len(pool))):
            rows.append(_row(obfuscate(e.text.strip(), rng), kind, e.harm))
    return rows


def rows(train: list[D.Example]) -> list[D.Example]:
    """Every contrast row for the harm head (each text once)."""
    out = [
        *quote_rows(train, 1600),
        *negation_rows(300),
        *profanity_rows(450),
        *nonprotected_rows(),
        *obfuscated_rows(train, 800),
    ]
    seen: set[str] = set()
    return [e for e in out if not (e.text in seen or seen.add(e.text))]
