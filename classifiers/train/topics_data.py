"""A labelled set for the `topics` guard, written by us (issue #23): prompts on and off topics.

    python -m classifiers.train.topics_data --out topics/      # calibrate.jsonl + test.jsonl

Every text is written here (none comes from ../shared/data or dev/), deterministically (no
randomness): for each topic, user requests ("asks") wrapped in a few openers; plus requests
on other subjects (`off`), and per topic a few "near misses" that use the topic's words without
being about it (e.g. a recipe named after a doctor), labelled off-topic.

The two splits share NO ask and no opener: `calibrate` picks the guard's default similarity
threshold, `test` reports precision/recall on phrasings calibration never saw. Rows are
`{"text", "topic", "split"}` where `topic` is a key of TOPICS or "none".

TOPICS maps each topic to the plain-words description a policy would write: the guard embeds
that description, not the examples.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

TOPICS: dict[str, str] = {
    "medical": "medical symptoms, diagnosis and treatment of illness",
    "legal": "legal advice about laws, contracts, courts and lawsuits",
    "investing": "investment advice about stocks, shares, crypto and retirement savings",
    "politics": "politics, elections, politicians and political parties",
    "cooking": "cooking, recipes and food preparation",
    "travel": "travel planning, flights, hotels and holidays",
    "programming": "computer programming, code and software bugs",
    "orders": "orders, shipping and delivery of a purchase",
    "billing": "billing, invoices, charges, refunds and payments",
    "account": "user account, login, password and sign-in problems",
}

# More descriptions of the support topics, as a policy writer would add when one line is too
# narrow (the allow-list is measured with and without them; they are not asks from the set).
MORE: dict[str, list[str]] = {
    "orders": [
        "a missing, late, damaged or wrong package and its tracking",
        "changing, cancelling or collecting an order",
    ],
    "billing": [
        "a wrong charge on my card or bill",
        "payment methods, instalments, promo codes and refund times",
    ],
    "account": [
        "resetting a password or a locked account",
        "two-factor codes, changing my email or username, deleting or recovering my account",
    ],
}

# Per topic: (calibration asks, test asks). Asks of one topic are disjoint across the splits.
ASKS: dict[str, tuple[list[str], list[str]]] = {
    "medical": (
        [
            "what are the early signs of type 2 diabetes?",
            "I have had a headache and a stiff neck for three days, what could it be?",
            "is it safe to take ibuprofen together with paracetamol?",
            "my child has a rash and a fever of 39 degrees, should I worry?",
            "how is high blood pressure usually treated?",
            "what does an elevated white blood cell count mean on my test results?",
            "can a persistent cough be a sign of asthma?",
            "how long does it take to recover from a broken wrist?",
        ],
        [
            "what causes chest pain when I breathe in deeply?",
            "how do doctors diagnose a thyroid problem?",
            "which antibiotics are used for a urinary tract infection?",
            "I feel dizzy every time I stand up, is that low blood pressure?",
            "what are the symptoms of a migraine compared to a tension headache?",
            "should I see a doctor about a mole that changed colour?",
            "how much vitamin D should an adult take for a deficiency?",
            "what is the treatment for a sprained ankle?",
        ],
    ),
    "legal": (
        [
            "can my landlord keep my deposit for normal wear and tear?",
            "what happens if I break my employment contract early?",
            "how do I sue someone in small claims court?",
            "is a verbal agreement legally binding?",
            "what are my rights if I am arrested?",
            "do I need a lawyer to write a will?",
            "can my employer fire me for being sick?",
            "how does copyright work for photos I took myself?",
        ],
        [
            "what is the difference between a misdemeanour and a felony?",
            "my neighbour built a fence on my land, what can I do legally?",
            "how do I contest a parking fine in court?",
            "is it legal to record a phone call without telling the other person?",
            "what should a non-disclosure agreement contain?",
            "how long does a divorce take if both sides agree?",
            "can I be held liable if someone slips on my icy driveway?",
            "what does it mean to be the executor of an estate?",
        ],
    ),
    "investing": (
        [
            "should I put my savings into an index fund or individual stocks?",
            "is bitcoin a good long-term investment?",
            "how much of my salary should go into my pension?",
            "what is a good dividend yield for a stock?",
            "should I sell my shares now that the market is falling?",
            "how do bonds compare to stocks for a retirement portfolio?",
            "is it smart to invest in real estate investment trusts?",
            "what is dollar-cost averaging and should I use it?",
        ],
        [
            "which tech stocks are worth buying this year?",
            "how should I diversify a portfolio of 50,000 dollars?",
            "is ethereum riskier than the S&P 500?",
            "what is the best way to save for early retirement?",
            "should I pay off my mortgage or invest the money in ETFs?",
            "how do I pick a good mutual fund?",
            "is gold a safe investment during inflation?",
            "what percentage of my portfolio should be in emerging markets?",
        ],
    ),
    "politics": (
        [
            "who is likely to win the next presidential election?",
            "what are the main differences between the two big parties?",
            "should I vote for the green party?",
            "what do you think of the prime minister's new immigration policy?",
            "how does the electoral college work?",
            "which candidate has the better plan on healthcare?",
            "why did the government coalition collapse?",
            "is the senator's tax reform good for the middle class?",
        ],
        [
            "what is your opinion on the opposition leader?",
            "how do primary elections decide a party's nominee?",
            "which party is better for the economy?",
            "explain the debate in parliament about the new voting law",
            "who should I support in the mayoral race?",
            "what are the chances of a snap election this year?",
            "is the president doing a good job?",
            "compare the left and right wing positions on climate policy",
        ],
    ),
    "cooking": (
        [
            "how long should I roast a whole chicken?",
            "what can I use instead of eggs in a cake?",
            "give me a simple recipe for tomato soup",
            "how do I make fluffy pancakes?",
            "what spices go well with lentils?",
            "how do I stop pasta from sticking together?",
            "what is the best way to cook salmon in the oven?",
            "how do I make a sourdough starter?",
        ],
        [
            "what temperature should I bake bread at?",
            "how do I caramelise onions properly?",
            "suggest a vegetarian dinner I can cook in twenty minutes",
            "how much rice and water do I need for four people?",
            "what is the secret to a crispy pizza crust?",
            "how do I make a creamy risotto?",
            "can I freeze homemade lasagne?",
            "how do I marinate beef for a stir fry?",
        ],
    ),
    "travel": (
        [
            "what is the cheapest time of year to fly to Japan?",
            "plan a five day itinerary for Rome",
            "do I need a visa to visit Canada with a UK passport?",
            "which area of Barcelona is best to stay in?",
            "how early should I arrive at the airport for an international flight?",
            "what are good budget hotels near the Eiffel Tower?",
            "is it better to take the train or fly from Paris to Amsterdam?",
            "what should I pack for a hiking holiday in Iceland?",
        ],
        [
            "recommend a week-long road trip route in California",
            "how do I find cheap flights to Bangkok?",
            "what are the must-see sights in Lisbon?",
            "is travel insurance worth it for a short city break?",
            "where should I go on holiday in Greece in October?",
            "how do I get from the airport to the city centre in Prague?",
            "which hotel booking sites give the best deals?",
            "what is the best way to travel around Vietnam?",
        ],
    ),
    "programming": (
        [
            "why does my Python script raise a KeyError?",
            "how do I reverse a linked list in Java?",
            "what is the difference between let and const in JavaScript?",
            "my React component renders twice, why?",
            "how do I write a SQL query that joins two tables?",
            "how can I speed up a slow loop in pandas?",
            "what does a segmentation fault mean in C?",
            "how do I undo my last git commit?",
        ],
        [
            "how do I read a JSON file in Go?",
            "my Docker container exits immediately, how do I debug it?",
            "what is a race condition and how do I avoid one?",
            "how do I write a unit test for a function that calls an API?",
            "why is my recursive function hitting the maximum recursion depth?",
            "how do I sort a dictionary by value in Python?",
            "what is the best way to handle errors in Rust?",
            "how do I centre a div with CSS?",
        ],
    ),
    "orders": (
        [
            "where is my order? it was supposed to arrive yesterday",
            "can I change the delivery address of my order?",
            "my package says delivered but I never got it",
            "how long does standard shipping take?",
            "can I cancel an order that has already been shipped?",
            "the parcel arrived damaged, what do I do?",
            "do you ship to Australia?",
            "I received the wrong item in my order",
        ],
        [
            "my tracking number does not work",
            "when will my order be dispatched?",
            "can I pick up my order from a store instead of delivery?",
            "half of my order is missing from the box",
            "how much does express delivery cost?",
            "the courier left my package with a neighbour I do not know",
            "is it possible to combine two orders into one shipment?",
            "my order has been stuck in processing for a week",
        ],
    ),
    "billing": (
        [
            "I was charged twice for the same subscription",
            "how do I get a refund for my last payment?",
            "can I get an invoice with my company's VAT number?",
            "why is my bill higher this month?",
            "which payment methods do you accept?",
            "my card was declined but the money left my account",
            "how do I update the credit card on file?",
            "when will the refund show up on my statement?",
        ],
        [
            "I need a copy of last month's invoice",
            "there is a charge on my card I do not recognise from you",
            "can I pay in monthly instalments?",
            "you billed me after I cancelled my plan",
            "how do I switch from monthly to annual billing?",
            "is there a fee for paying by bank transfer?",
            "my promo code was not applied to the total",
            "how long do refunds take to process?",
        ],
    ),
    "account": (
        [
            "I forgot my password and the reset email never arrives",
            "how do I change the email address on my account?",
            "my account got locked after too many login attempts",
            "how do I turn on two-factor authentication?",
            "I cannot sign in with my Google account anymore",
            "how do I delete my account permanently?",
            "someone else logged into my account, what should I do?",
            "the verification code is not working",
        ],
        [
            "how do I change my username?",
            "I am stuck in a login loop on the app",
            "can I merge two accounts into one?",
            "my password reset link has expired",
            "how do I log out of all devices?",
            "I lost my phone and cannot get my two-factor code",
            "why does it say my email is already registered?",
            "how do I recover an account I deactivated?",
        ],
    ),
}

# Requests on other subjects (no topic above), split the same way.
OFF: tuple[list[str], list[str]] = (
    [
        "what is the capital of Australia?",
        "write a short poem about autumn leaves",
        "explain how photosynthesis works",
        "what is 15 percent of 240?",
        "recommend a good science fiction novel",
        "how do I train my puppy to sit?",
        "what is the difference between weather and climate?",
        "translate 'good morning' into German",
        "who painted the Mona Lisa?",
        "how do I get tomato plants to produce more fruit?",
        "summarise the plot of Hamlet in three sentences",
        "what are some fun games for a child's birthday party?",
    ],
    [
        "why is the sky blue?",
        "write a haiku about the sea",
        "how many planets are in the solar system?",
        "what is a good name for a black cat?",
        "explain the rules of chess to a beginner",
        "when did the Second World War end?",
        "how do I knit a scarf?",
        "suggest a playlist for a rainy afternoon",
        "what is the tallest mountain in Africa?",
        "how do I improve my handwriting?",
        "give me ideas for a science fair project",
        "what does the word 'ephemeral' mean?",
    ],
)

# Per topic: texts that use the topic's words without being about it (labelled "none").
NEAR: dict[str, tuple[list[str], list[str]]] = {
    "medical": (
        ["recommend a TV series like Grey's Anatomy"],
        ["write a funny poem about my cat who acts like a doctor"],
    ),
    "legal": (
        ["recommend a good courtroom drama film"],
        ["what is the plot of To Kill a Mockingbird?"],
    ),
    "investing": (
        ["what does 'invest time in friendships' mean?"],
        ["write a story about a squirrel saving acorns for winter"],
    ),
    "politics": (
        ["what was daily life like in ancient Athens?"],
        ["how do penguins choose a partner?"],
    ),
    "cooking": (
        ["what is the history of the fork?"],
        ["write a poem about a lazy Sunday morning"],
    ),
    "travel": (
        ["what is the speed of light?"],
        ["how do migrating birds find their way?"],
    ),
    "programming": (
        ["how do I programme my washing machine's delay timer?"],
        ["what is the history of the typewriter?"],
    ),
    "orders": (
        ["what is the pecking order among chickens?"],
        ["explain the order of operations in maths"],
    ),
    "billing": (
        ["why do ducks have flat bills?"],
        ["what does a platypus eat?"],
    ),
    "account": (
        ["give me an account of the Battle of Hastings"],
        ["tell me the story of Ali Baba and the forty thieves"],
    ),
}

OPENERS: tuple[list[str], list[str]] = (
    ["{ask}", "Hi, {ask}", "Quick question: {ask}", "{ask} Thanks in advance.", "Hello! {ask}"],
    ["{ask}", "Hey there, {ask}", "I hope you can help. {ask}", "{ask} Any advice?", "Hi! {ask}"],
)
SPLITS = ("calibrate", "test")


@dataclass(frozen=True)
class Row:
    """One labelled prompt."""

    text: str
    topic: str  # a key of TOPICS, or "none"
    split: str


def _wrap(ask: str, split: int) -> list[str]:
    texts = []
    for opener in OPENERS[split]:
        text = opener.format(ask=ask)
        texts.append(text[0].upper() + text[1:])
    return texts


def rows(split: str) -> list[Row]:
    """Every row of one split, de-duplicated, in a fixed order."""
    index = SPLITS.index(split)
    out: list[Row] = []
    for topic, asks in ASKS.items():
        out += [Row(t, topic, split) for ask in asks[index] for t in _wrap(ask, index)]
    off = [*OFF[index], *(a for near in NEAR.values() for a in near[index])]
    out += [Row(t, "none", split) for ask in off for t in _wrap(ask, index)]
    seen: set[str] = set()
    return [r for r in out if not (r.text in seen or seen.add(r.text))]  # type: ignore[func-returns-value]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        with (args.out / f"{split}.jsonl").open("w") as fh:
            for row in rows(split):
                fh.write(json.dumps({"text": row.text, "topic": row.topic}) + "\n")
        print(split, len(rows(split)), "rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
