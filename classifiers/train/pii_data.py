"""PII token-head data: presidio spans + our own Faker sentences + benign negatives, as BIO tokens.

Entity types: PERSON, LOCATION (STREET_ADDRESS / ADDRESS / GPE / LOCATION, so street addresses and
places are one type), ORGANIZATION, DATE_TIME. Other presidio types (phone, e-mail, card, ...) are
``O`` here: they are left to the regex / secrets guards.

Labelling (WordPiece tokens of the bundle tokenizer, aligned through the tokenizer's offsets):
the first token that overlaps an entity's character span is ``B-<type>``, every further token
that overlaps it is ``I-<type>`` (so subword continuations take the label of their word), every
other token ``O``; [CLS]/[SEP] are ignored by the loss.

Splits. presidio rows: by sha1 of ``template_id`` (15 % validation). Synthetic rows: the
template families of ``TEMPLATES`` and the generated ones (``GENERATED``: ``fields``,
``labelled``, ``records``, ``pairs``, ``distractors``) give training rows and, with another seed,
validation rows; the family ``ticket`` (support tickets) never appears in training and is
reported on its own, as is the ``blind`` split (``BLIND_TEMPLATES``: meeting minutes and legal
text, written before the issue-8 data fix and never used to choose anything). The ``dev`` split
(``DEV_TEMPLATES``: CRM notes, invoices, bookings) is a third family that never trains: error
analysis and choices use it with validation, so that ticket and blind stay test sets.
Negatives: benign prompts of the guard split (train / validation) without any capitalised word
after the first of a sentence; prompts that name people, places or brands (many are public
figures) are neither positives nor negatives.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from . import data as D

TYPES = ("PERSON", "LOCATION", "ORGANIZATION", "DATE_TIME")
LABELS = ("O", *[f"{p}-{t}" for t in TYPES for p in ("B", "I")])
TYPE_MAP = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "LOCATION",
    "ADDRESS": "LOCATION",
    "GPE": "LOCATION",
    "LOCATION": "LOCATION",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE_TIME",
}
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT")
HELDOUT_FAMILY = "ticket"
HELD = "heldout"  # split name of the held-out family


@dataclass
class PiiExample:
    text: str
    spans: list[tuple[int, int, str]]  # (start, end, TYPE) character spans, end exclusive
    source: str  # presidio | synthetic:<family> | negative
    split: str  # train | val | heldout


# ----------------------------------------------------------------------------- presidio rows


def load_presidio(data_dir: Path) -> list[PiiExample]:
    out = []
    for r in D.read_jsonl(Path(data_dir) / "pii" / "pii_spans.jsonl"):
        tid = next((t for t in r["categories"] if t.startswith("template_id:")), r["text"])
        split = "val" if D.stable_hash("pii|" + r["source"] + tid) % 100 < 15 else "train"
        spans = [
            (s["start"], s["end"], TYPE_MAP[s["type"]]) for s in r["spans"] if s["type"] in TYPE_MAP
        ]
        text = r["text"]
        out.append(PiiExample(text, _strip(text, _with_titles(text, spans)), "presidio", split))
    return out


# Faker's names carry their title ("Dr. Ana Ruiz", "Dott. ...") inside the PERSON span; presidio
# puts it outside. One convention for training: a title right before a PERSON span is inside.
TITLE = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Herr|Frau|Mme|Mlle|Sig|Sig\.ra|Sr|Sra|Dott|Dott\.ssa"
    r"|Ing|Dipl\.-Ing)\.?\s+)+$"
)


def _with_titles(text: str, spans):
    out = []
    for a, b, t in spans:
        m = TITLE.search(text, max(0, a - 24), a) if t == "PERSON" else None
        out.append((m.start() if m else a, b, t))
    return out


def _strip(text: str, spans):
    """Trim whitespace / trailing punctuation inside spans; drop empty and overlapping ones."""
    out = []
    for a, b, t in sorted(spans):
        while a < b and text[a].isspace():
            a += 1
        while b > a and (text[b - 1].isspace() or text[b - 1] in ",;:"):
            b -= 1
        if b > a and (not out or a >= out[-1][1]):
            out.append((a, b, t))
    return out


# ----------------------------------------------------------------------------- negatives


def load_negatives(data_dir: Path, n_train: int, n_val: int) -> list[PiiExample]:
    rows = D.load_file(data_dir, "benign/prompts.jsonl", "prompt")
    clean = [e for e in rows if len(e.text) < 400 and not _has_proper_noun(e.text)]
    clean.sort(key=lambda e: D.stable_hash("pii-neg|" + e.text))
    tr = [e for e in clean if not D.is_validation(e)][:n_train]
    va = [e for e in clean if D.is_validation(e)][:n_val]
    return [PiiExample(e.text, [], "negative", "train") for e in tr] + [
        PiiExample(e.text, [], "negative", "val") for e in va
    ]


def _has_proper_noun(text: str) -> bool:
    for sent in re.split(r"(?<=[.!?])\s+|\n+", text):
        words = sent.split()
        for w in words[1:]:
            w = w.strip("\"'([{")
            if w[:1].isupper() and w not in ("I", "I'm", "I've", "I'd", "I'll"):
                return True
        if any(c.isdigit() for c in sent) and re.search(r"\d{1,2}[/.-]\d{1,2}", sent):
            return True  # looks like a date: neither positive nor negative
    return False


# ----------------------------------------------------------------------------- Faker sentences

# {P} person, {F} first name, {L} last name (PERSON), {C} city, {A} full address, {S} street
# address, {N} country, {O} organisation, {D} date, {T} date+time; {E} e-mail, {H} phone,
# {#} number: O
TEMPLATES: dict[str, list[str]] = {
    "chat": [
        "Can you write a short birthday message for {P}? She lives in {C}.",
        "Please draft a polite reply to {P} from {O} declining the meeting on {D}.",
        "My neighbour {P} moved to {A} last month, how do I forward his mail?",
        "Summarise this: {P} joined {O} in {C} on {D} as a senior analyst.",
        "write a cover letter to {O} for me, my name is {P} and I live at {S}, {C}",
        "How far is it from {C} to {N} by train? I'm meeting {F} there on {T}.",
        "translate to French: dear {F}, the parcel for {A} will arrive on {D}",
        "is {O} a good employer? my cousin {P} works at their office in {C}",
        "remind me to call {P} at {H} about the invoice from {O}",
        "I need an itinerary: fly out {D}, stay near {S} in {C}, dinner with {P}.",
    ],
    "email": [
        "Hi {F},\n\nThanks for your time on {D}. Please send the signed form to {A}.\n\n"
        "Best regards,\n{P}\n{O}",
        "From: {P} <{E}>\nTo: {P}\nSubject: Contract renewal\n\nDear {F}, the renewal with {O} "
        "starts on {D}. Call me on {H}.",
        "Dear {P},\nyour order #{#} has been shipped to {A}. Expected delivery: {D}.\n{O} team",
        "Hello {F}, I am writing on behalf of {O} regarding the audit in {C} scheduled for {T}.",
        "Good morning,\nplease update my billing address to {S}, {C}, {N}.\nKind regards, {P}",
        "{F},\nthe board of {O} meets in {C} on {D}. {P} will chair.\nCheers",
    ],
    "csv": [
        "name,company,city\n{P},{O},{C}",
        "{P};{E};{A};{D}",
        "id,full_name,employer,joined\n{#},{P},{O},{D}",
        "{#}\t{P}\t{C}\t{N}\t{H}",
        "customer: {P} | org: {O} | address: {S}, {C} | since: {D}",
    ],
    "address": [
        "{P}\n{A}",
        "Ship to: {P}, {A}",
        "Billing address\n{P}\n{O}\n{A}\n{N}",
        "Please deliver to {S}, {C} ({N}) attention {P}.",
        "{O}\n{A}\nTel. {H}",
        "Return address: {A}",
        "{S}\n{C}",
        "{P}\n{S}\n{C}\n{N}",
        "Deliver to {A} (c/o {P})",
        "{O}, {S}, {C}",
        "Our new {U}: {A}",
    ],
    "record": [
        "Patient {P}, born {D}, referred by Dr. {P} of {O}, {C}.",
        "Employee {P} (id {#}) transferred from {O} {C} office on {D}.",
        "Tenant: {P}. Property: {A}. Lease start: {D}. Landlord: {O}.",
        "Witness statement taken from {P} at {S}, {C} on {T}.",
        "Applicant {P}, nationality {N}, current address {A}, employer {O}.",
    ],
    # training-only families added for the held-out gap (prose, signatures, logs, lists, chat
    # messages); their wording avoids the support-ticket vocabulary of the held-out family
    "prose": [
        "{P} has worked at {O} since {D} and now runs the {C} {U}.",
        "Yesterday {F} flew from {C} to {C} to see {P}.",
        "According to {P}, {O} will open a new {U} in {C}, {N} next spring.",
        "The contract between {O} and {O} was signed by {P} on {T}.",
        "{P}, a manager at {O}, lives at {A} with her partner {F}.",
        "We stayed with {F} and {F} near {S} in {C} until {D}.",
        "Last week {O} announced that {P} would lead its {C} {U}.",
        "I was born in {C} on {D}, went to school in {N} and now work for {O}.",
        "{F} told me that {P} left {O} after the merger on {D}.",
        "Send the samples to {P} at {O}, {A}, before {D}.",
        "Our {U} in {C} was inspected by {P} from {O} on {T}.",
        "My landlord {P} wants the keys back at {A} by {D}.",
        "Can {F} pick up {P} from the {C} {U} at {T}?",
        "{O} moved its headquarters from {C} to {C} on {D}.",
        "The interview with {P} ({O}) is on {T} in {C}.",
        "hey {F}, it's {P} - my new address is {A}, email me at {E}",
        "{P} and {P} of {O} are both based in {C}, {N}.",
        "The {C} {U} of {O} has been managed by {P} since {D}.",
        "{P} ({O}) asked whether the {C} {U} could reopen before {D}.",
        "{P} from {O} called about the delivery to {A}.",
        "{P} wrote on {T} that {O} had closed its {C} {U}.",
        "{O} confirmed that {P} will visit {C} on {D}.",
        "{F} ({E}) booked a table for {P} in {C}.",
        "{P}, {P} and {F} met the {O} board in {C}, {N}.",
    ],
    "signature": [
        "{P}\n{J}\n{O}\n{A}\n{H}",
        "--\n{P} | {J} | {O}\n{E} | {H}",
        "Best,\n{F}\n\n{P}\n{J}, {O}\n{S}, {C}",
        "Regards,\n{P}\n{O} - {C} {U}\nMobile: {H}",
        "{P} <{E}>\n{O}, {C}",
        "On {T}, {P} <{E}> wrote:\n> see you in {C} then",
        "Thanks again,\n{P} ({J})\n{O} | {A}",
        "{P}, {J}\n{O}\n{C}, {N}\n{E}",
    ],
    "log": [
        "{T} INFO user {P} logged in from {C}, {N}",
        "{T} | {O} | order {#} shipped to {A}",
        "[{T}] {P} changed the billing address to {A}",
        "{T} WARN payment from {O} failed; contact {P} ({E})",
        "audit {T}: {P} approved the invoice of {O} for the {C} {U}",
        "{D} {P} -> {P}: meeting moved to {T}",
        "{T} - {E} - login ok - {C}",
        "{T} {O} sync finished for {P}, {#} records",
    ],
    "list": [
        "Attendees:\n- {P} ({O})\n- {P} ({O})\n- {P}, {C}",
        "1. {P} - {O} - {C}\n2. {P} - {O} - {C}",
        "* {P} <{E}>\n* {P} <{E}>\n* {F}",
        "Contacts: {P} ({E}), {P} ({H}), {F}",
        "Guests: {P}; {P}; {P}. Venue: {O}, {A}. Date: {D}.",
        "Shortlist for the {C} {U}: {P}, {P} and {P}.",
        "Suppliers\n{O}, {C}\n{O}, {C}\n{O}, {N}",
        "- {D}: {P} visits {O} in {C}\n- {D}: {P} returns to {C}",
    ],
    "message": [
        "running late, tell {F} i'll be at {S} by {T}",
        "did {P} ever reply about the {O} job?",
        "omg {F} just moved to {C}!!",
        "pls call {P} re: {O} before {D}",
        "{F}: are you still in {C}?\n{F}: yes until {D}",
        "note to self - pay {O} invoice {#} by {D}, ask {F}",
        "{P} says the {U} in {C} opens at {T}",
        "can you forward this to {P} ({E})? thx",
        "meet me outside {O} on {S}, {C} at {T}",
        "{P} here - the {O} parcel went to {A} instead",
        "{F} from {O} wants to move the call to {T}",
        "{P} ({H}) is waiting at the {C} {U}",
    ],
    # held-out family: never in training
    HELDOUT_FAMILY: [
        "Ticket #{#} opened {T}\nCustomer: {P} ({E})\nCompany: {O}\nSite: {A}\n"
        "Issue: router keeps rebooting after the firmware update.",
        "[{#}] Priority high - {P} from {O} reports that deliveries to {S}, {C} are late "
        "since {D}.",
        "Support request: hi, this is {F} at {O}. Our printer at the {C} branch is offline "
        "again, can someone come by {D}?",
        "Case {#} | requester {P} | location {C}, {N} | assigned to {P} | due {D}",
        "Escalation: {P} ({O}) says the technician never showed up at {A} on {T}.",
        "New ticket from {E}: my name is {P}, I changed address to {A}, please update the "
        "account of {O}.",
    ],
}
# Second held-out family, written blind: these templates were written before the data fix of
# issue #8 and before any of their predictions were looked at, in styles that neither a training
# family nor the ticket family uses (meeting minutes; contracts, declarations and court notices).
# Never trained on, never used to choose a head, a threshold or a training template; reported on
# its own next to the ticket family.
BLIND = "blind"  # split name
BLIND_TEMPLATES: dict[str, list[str]] = {
    "minutes": [
        "Minutes of the {O} steering group, held in {C} on {D}\nPresent: {P} (in the chair), {P}, "
        "{P}\nApologies: {P}",
        "{P} opened the meeting at {T} and welcomed {P} of {O}.",
        "Item {#}. {P} reported on the move to {A}; completion is expected by {D}.\n"
        "Action: {L} to confirm with {O}.",
        "AOB: {F} asked whether the {O} grant could cover travel to {C}, {N}. Agreed; {P} to "
        "draft a budget.",
        "present: {F}, {F}, {P}; absent: {P}\nthe group noted that {O} has opened a second "
        "laboratory in {C}.",
        "Ms {L} presented the figures from {O}; Mr {L} seconded the proposal. Carried.",
        "Next meeting: {T}, at the offices of {O}, {A}. Minuted by {P}.",
        "The committee thanked {P}, who retires on {D} after twenty years with {O} in {C}.",
        "Resolution {#}: to appoint {O} as auditors for the year ending {D}, proposed by {P}, "
        "seconded by {F}.",
        "Matters arising - {P} has written to {O} about the flooding at {S}, {C}; no reply yet.",
    ],
    "legal": [
        "THIS AGREEMENT is made on {D} between {O}, whose registered office is at {A} (the "
        '"Lender"), and {P} of {A} (the "Borrower").',
        "I, {P}, born on {D} in {C}, {N}, declare that the statements above are true to the "
        "best of my knowledge.",
        "Signed at {C} on {D}\n\n____________________\n{P}\nfor and on behalf of {O}",
        "In the presence of {P}, {J}, residing at {A}.",
        "NOTICE is hereby given that {P} of {S}, {C} has been appointed liquidator of {O} with "
        "effect from {D}.",
        "The Tenant, {P}, shall return all keys to {O} at {A} no later than {T}.",
        "By this power of attorney I, {P}, authorise {P} to represent me before {O} in {C}.",
        "Claim no. {#}: {P} v {O}. Hearing listed at the {C} court on {T}; counsel for the "
        "claimant {P}.",
        "I, the undersigned {P}, consent to {F} travelling to {C} with {O} between {D} and {D}.",
        '{O} ("the Company") and {P} ("the Employee") agree that employment ends on {D}. '
        "Governing law: {N}.",
        "Mrs {L} v. {O} [{D}] - judgment delivered in {C} by {P}.",
    ],
}

# Development family (issue #8, precision): styles no other family uses (CRM notes, invoices and
# receipts, booking confirmations), with capitalised words that are no entity (products, plans,
# room types: ``{K}``) and user handles (``{G}``). Never trained on; the split ``dev`` is for
# error analysis and choosing, so that the ticket and blind families stay test sets. Apart from
# function words its words share nothing with the ticket and blind templates (a test checks).
DEV = "dev"  # split name
DEV_TEMPLATES: dict[str, list[str]] = {
    "crm": [
        "Call notes {D}: {P} (procurement lead at {O}) wants pricing for the {K}.",
        "Spoke with {F} today. {O} is weighing us versus {O}; decision likely around {D}.",
        "Lead: {P} | Org name: {O} | Region: {C}, {N} | Interested in: {K}",
        "{P} mentioned that her colleague {P} handles vendor onboarding at {O}.",
        "Demo booked with {P} and {F} of {O} for {T}; they run {#} seats today.",
        "Renewal risk - {O} unhappy with the {K}. Champion {P} relocates to {C} on {D}.",
        "@{G} pls loop in {P} of {O}? she is in {C} till {D}",
        "Intro call went well. {F} will share our {K} deck with {P}, their CFO.",
        "Lost deal: {O} picked a competitor. Feedback by {P}: onboarding too slow.",
        "{O} (HQ {C}) - key people: {P}, {P}. Follow-on touchpoint {D}.",
    ],
    "invoice": [
        "INVOICE {#}\nBill to: {P}\n{O}\n{A}\nLine: {K} x 2\nTotal: {#} EUR\nTerms: 30 days "
        "past {D}",
        "Receipt - {O}, {S}, {C}\nCashier: {F}\n{K} .... {#}\nCheers for shopping with us!",
        "Purchase order {#} raised by {P} on {D} for {K}, ship to {A}.",
        "Refund of {#} USD for {K} okayed by {P} ({O}) on {T}.",
        "Balance summary for {P}, client no. {#}: last payment {D}. Questions? Write to {E}.",
        "Quote {#} valid 14 days. Prepared for {P}, {O}. Product: {K}. Sales rep: {F}.",
        "Credit memo {#} - {O} owes {P} {#} GBP for the sent-back {K}.",
        "Pay {#} to {O} (IBAN on file) by {D}. Reference: {G}. Contact {P} with billing queries.",
    ],
    "booking": [
        "Your stay at {O} in {C} is all set: arriving {D}, guest {P}, room type {K}.",
        "Flight {#}, {C} to {C}, on {T}. Passenger: {P}. Booked via {O}.",
        "Table for {P}, party of four, {T} at {O}, {S}.",
        "Hey {F}! Your {K} rental pickup is at {A} on {T}. Driver: {P}.",
        "E-boarding pass {#}: {P} flying {C} - {C}, seat 14C, operated by {O}.",
        "Cheers {F}, we look forward to hosting you and {P} in {C} starting {D}. Upgrade: {K}.",
        "Tour guide {P} meets the party outside {O}, {S}, {C} at {T}.",
        "Booking {#} was cancelled by {P}; the {K} fee goes back to you by {D}.",
    ],
}
# capitalised products / plans / room types: O
PRODUCTS = ("Pro Plan", "Enterprise Suite", "Standing Desk", "Noise-Cancelling Headphones")
PRODUCTS += ("Family Room", "Deluxe Suite", "Small SUV", "Annual Licence", "Starter Kit")
PRODUCTS += ("Premium Care", "Cloud Backup", "Mesh Seat", "Ocean View Double", "Smart Hub")
PRODUCTS += ("Team Edition", "Basic Tier", "Electric Scooter", "Gold Membership", "Data Pack")

# "fields": key-value records with random keys, separators and order (generated in kv_record);
# keys avoid the vocabulary of the held-out support-ticket family (ticket, case, requester, ...)
KV_KEYS = {
    "P": (
        "name",
        "full name",
        "contact",
        "customer",
        "client",
        "owner",
        "employee",
        "patient",
        "recipient",
        "from",
        "to",
        "attn",
        "signed by",
        "user",
        "driver",
        "manager",
        "guest",
    ),
    "F": ("first name", "given name", "nickname"),
    "A": ("address", "home address", "ship to", "bill to", "residence", "mailing address"),
    "S": ("street", "street address", "address line 1"),
    "C": ("city", "town", "location", "branch", "office", "destination", "origin", "place"),
    "N": ("country", "nationality country", "region"),
    "O": (
        "company",
        "employer",
        "organisation",
        "org",
        "firm",
        "vendor",
        "supplier",
        "bank",
        "school",
        "insurer",
        "client company",
        "agency",
    ),
    "D": ("date", "dob", "born", "created", "due", "start date", "deadline", "updated", "visit"),
    "T": ("timestamp", "time", "appointment", "last login"),
    "E": ("email", "e-mail", "mail"),
    "H": ("phone", "tel", "mobile", "fax"),
    "#": ("id", "ref", "order", "invoice", "account no", "amount", "qty", "room"),
    "W": ("status", "notes", "comment", "product", "plan", "type", "reason", "remarks"),
}
KV_SEPS = (": ", "=", " - ", ":\t", " -> ", ": ")
KV_JOINS = ("\n", "; ", " | ", ", ", "\t", "\n- ")
KV_WORDS = (
    "pending",
    "approved",
    "closed",
    "blue",
    "premium plan",
    "refund requested",
    "laptop stand",
    "follow up next week",
    "n/a",
    "urgent",
    "paid",
    "monthly",
    "call back in the afternoon",
    "wrong size",
    "renewal",
    "standard",
    "out of stock",
)

# lower-case nouns after a city ("the Lyon office"): O; header words before a sentence: O
UNITS = ("office", "store", "warehouse", "depot", "site", "team", "plant", "campus", "clinic")
UNITS += ("studio", "lab", "shop", "hub", "hotel", "showroom", "factory", "school")
# header words / tags before a sentence (often right before a name): O
HEADERS = ("update", "note", "reminder", "fyi", "complaint", "follow-up", "question", "heads up")
HEADERS += ("re", "fwd", "important", "feedback", "draft", "memo", "agenda", "minutes", "summary")
HEADERS += ("weekly sync", "internal", "info", "todo", "done", "new", "reply", "alert", "archive")
HEADERS += ("travel", "invoice", "delivery", "meeting notes", "status update", "green", "ok")
HEADERS += ("confidential", "call log", "visit report", "action item", "next steps", "hr")
HEADER_SEPS = (": ", " - ", " | ", " – ", " / ", ":\n", " > ")
PREFIXED = ("prose", "message", "log", "list", "signature")

SLOT_TYPE = {
    "P": "PERSON",
    "F": "PERSON",
    "L": "PERSON",
    "C": "LOCATION",
    "A": "LOCATION",
    "S": "LOCATION",
}
SLOT_TYPE.update({"N": "LOCATION", "O": "ORGANIZATION", "D": "DATE_TIME", "T": "DATE_TIME"})
# fixed anchors: relative ranges ("-2y") would make the rows depend on the day they are generated
DATE_FROM, DATE_TO = datetime(1996, 1, 1), datetime(2027, 12, 31)
DATE_FORMATS = ("%d/%m/%Y", "%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y", "%b %d")
TIME_FORMATS = ("%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M", "%B %d at %I:%M %p", "%d.%m.%Y, %H:%M")


def _fill(fake, slot: str, rng: random.Random) -> str:
    if slot == "P":
        return fake.name()
    if slot == "F":
        return fake.first_name()
    if slot == "L":
        return fake.last_name()
    if slot == "C":
        return fake.city()
    if slot == "A":
        sep = rng.choice([", ", "\n"])
        return fake.address().replace("\n", sep)
    if slot == "S":
        return fake.street_address()
    if slot == "N":
        return fake.country()
    if slot == "O":
        return fake.company()
    if slot == "D":
        day = fake.date_between(DATE_FROM.date(), DATE_TO.date())
        return day.strftime(rng.choice(DATE_FORMATS))
    if slot == "T":
        return fake.date_time_between(DATE_FROM, DATE_TO).strftime(rng.choice(TIME_FORMATS))
    if slot == "E":
        return fake.email()
    if slot == "H":
        return fake.phone_number()
    if slot == "W":
        return rng.choice(KV_WORDS)
    if slot == "J":
        return fake.job()
    if slot == "U":
        return rng.choice(UNITS)
    if slot == "K":
        return rng.choice(PRODUCTS)
    if slot == "G":
        return fake.user_name()
    if slot == "V":
        return handle(fake, rng)
    if slot == "Q":
        return rng.choice(TITLED)
    if slot == "M":
        return amount(rng)
    return str(rng.randint(1000, 999999))


def render(template: str, fake, rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    text, spans, pos = "", [], 0
    for m in re.finditer(r"\{([A-Z#])\}", template):
        text += template[pos : m.start()]
        value = _fill(fake, m.group(1), rng)
        if m.group(1) in SLOT_TYPE:
            spans.append((len(text), len(text) + len(value), SLOT_TYPE[m.group(1)]))
        text += value
        pos = m.end()
    text += template[pos:]
    return text, _strip(text, _with_titles(text, spans))


def kv_record(rng: random.Random) -> str:
    """A template of 2-7 random `key<sep>{slot}` fields (same key/separator style per record)."""
    slots = rng.sample(list(KV_KEYS), rng.randint(2, 7))
    sep, join = rng.choice(KV_SEPS), rng.choice(KV_JOINS)
    case = rng.choice((str.lower, str.title, str.upper))
    fields = [case(rng.choice(KV_KEYS[s])) + sep + "{" + s + "}" for s in slots]
    return join.join(fields)


# Training-only families of issue #8, generic (not tuned to the ticket family: apart from function
# words they share no word or 5-letter stem with the ticket or blind templates, a test checks):
# ``labelled``: label / heading words right before entities and lowercase words right after
# names, all ``O``; ``records``: delimited records (values only, under a header line, or
# key/value) whose person, place and organisation fields sit next to each other in random order,
# so a field's position is no cue for its type; ``pairs``: a person right next to an
# organisation (sometimes a place): separate entities.
FIELD_LABELS = {
    "PERSON": (
        "prepared by",
        "reviewed by",
        "approved by",
        "compiled by",
        "contact person",
        "point of contact",
        "handled by",
        "submitted by",
        "sender",
        "holder",
        "beneficiary",
        "coordinator",
        "supervisor",
        "reviewer",
        "interviewer",
        "editor",
        "instructor",
        "tutor",
        "mentor",
        "emergency contact",
        "spouse",
        "parent",
        "speaker",
        "host",
        "checked by",
        "caller",
        "passenger",
        "photographer",
        "inspector",
        "buyer",
        "seller",
        "agent",
        "team lead",
        "delegate",
        "nominee",
        "winner",
        "student",
        "teacher",
        "visitor",
        "trainee",
        "volunteer",
        "player",
        "candidate",
        "referee",
        "cardholder",
        "key contact",
        "dear",
        "attention",
        "surname",
    ),
    "LOCATION": (
        "venue",
        "birthplace",
        "place of birth",
        "pickup point",
        "drop-off point",
        "headquarters",
        "hometown",
        "rendezvous",
        "departure",
        "arrival",
        "via",
        "postal",
        "current city",
        "home",
        "district",
        "county",
        "canton",
        "province",
        "area",
        "based in",
        "living in",
        "stationed in",
        "relocating to",
        "posted to",
        "hq",
        "where",
        "nearest city",
        "destination city",
    ),
    "ORGANIZATION": (
        "institution",
        "guarantor",
        "provider",
        "courier",
        "sponsor",
        "partner",
        "contractor",
        "manufacturer",
        "distributor",
        "affiliation",
        "business name",
        "trading as",
        "host organisation",
        "retailer",
        "club",
        "university",
        "hospital",
        "practice",
        "workplace",
        "brand",
        "publisher",
        "bank name",
        "subsidiary",
        "works at",
        "works for",
        "hired by",
        "member of",
        "sponsored by",
        "run by",
        "supplied by",
        "in partnership with",
        "department",
    ),
    "DATE_TIME": (
        "valid until",
        "stamped",
        "expiry",
        "commencing",
        "received",
        "submitted on",
        "arrival date",
        "departure date",
        "check-in",
        "check-out",
        "renewal date",
        "last seen",
        "posted",
        "closing date",
        "starts",
        "finishes",
        "booked for",
        "as of",
        "dated",
        "week of",
    ),
}
# first word of a text, then punctuation, then a name: O
OPENERS: tuple[str, ...] = (
    "kudos",
    "greetings",
    "congratulations",
    "regarding",
    "hello",
    "cheers",
    "urgent",
)
OPENERS += ("nice one", "good news", "sorry", "heads-up", "quick one", "attn", "hey")
# Title Case headings right before an entity: O
HEADINGS: tuple[str, ...] = (
    "Quarterly Review",
    "Project Kickoff",
    "Performance Appraisal",
    "Starter Pack",
)
HEADINGS += ("Exit Interview", "Onboarding Checklist", "Booking Reference", "Reference Letter")
HEADINGS += ("Safety Briefing", "Training Record", "Visitor Log", "Guest Pass", "Award Nomination")
HEADINGS += ("Event Entry", "Expense Form", "Shift Handover", "Lesson Plan", "Seating Plan")
HEADINGS += ("Interview Schedule", "Photo Credits", "Sales Lead", "Press Contact", "Parking Permit")
HEADINGS += ("Media Enquiries", "Lost Property", "Fire Drill", "Annual Appraisal", "Team Lunch")
LABEL_SEPS = (": ", ":", " - ", "- ", " | ", "|", " / ", " > ", " # ", "#", " ", "\t", ":\n", " = ")
LABEL_JOINS = ("\n", " ", "; ", ". ", ", ", "  ", "\n\n", " | ")
# lowercase words right after a name: O
NAME_TAILS: tuple[str, ...] = (
    "will call back",
    "is away",
    "and team",
    "cc",
    "only",
    "phoned",
    "declined",
)
NAME_TAILS += ("accepted", "replied", "wants a callback", "is on leave", "et al.", "and others")
NAME_TAILS += ("to check", "will join", "joins", "left a voicemail", "sent the files", "waits")
NAME_TAILS += ("needs access", "was informed", "(external)", "- primary", "tbc", "as usual")
NAME_TAILS += ("said yes", "is in", "out today", "too", "plus one", "is driving", "approves")
OTHER_TAILS = ("only", "tbc", "as usual", "(main)", "too", "maybe", "first", "soon", "?")
LABEL_SLOTS = ("P", "P", "P", "P", "F", "L", "C", "C", "A", "S", "N", "O", "O", "O", "D", "T")
# "records": field names per slot (header line or key/value), delimiters, key separators
RECORD_FIELDS = {
    "P": ("full_name", "contact_name", "person", "holder_name", "rep", "staff", "member_name"),
    "F": ("first", "fname", "forename"),
    "C": ("city", "town", "municipality", "hometown", "area", "city_name"),
    "S": ("street", "street_line", "house"),
    "N": ("country", "nation", "country_code_name"),
    "O": (
        "org_name",
        "workplace",
        "institution",
        "business",
        "partner",
        "provider",
        "brand",
        "org",
    ),
    "D": ("dob", "start", "valid_until", "date", "joined_on"),
    "E": ("email", "mail"),
    "H": ("tel", "mobile"),
    "#": ("ref", "no", "qty", "id", "pk"),
    "W": ("status", "notes", "tier", "flag"),
}
RECORD_DELIMS = ("|", " | ", ";", "; ", "\t", ",", ", ", " ; ", " || ", " / ")
RECORD_KV_SEPS = (": ", "=", " ", ":", " - ", " = ")
# "pairs": a person right next to an organisation (and sometimes a place), in short frames
PAIR_FORMS: tuple[str, ...] = (
    "{P}, {O}",
    "{P} ({O})",
    "{O} - {P}",
    "{P} / {O}",
    "{P} @ {O}",
    "{P} of {O}",
)
PAIR_FORMS += ("{P}, {J}, {O}", "{O}: {P}", "{P} <{E}>, {O}", "{P}, {O}, {C}", "{P} [{O}]")
PAIR_FORMS += ("{P} - {O} ({C})", "{F} at {O}", "{O} / {P} / {C}", "{P} | {O}", "{P}; {O}")
PAIR_FORMS += ("{O}, {P}", "{P} {O}", "{P} - {O}")
PAIR_FRAMES: tuple[str, ...] = (
    "{x}",
    "with {x}",
    "spoke to {x} today",
    "cc: {x}",
    "intro: {x}, say hello to {y}",
)
PAIR_FRAMES += ("photo credit: {x}", "quote by {x}", "{x} and {y}", "kudos to {x} for the samples")
PAIR_FRAMES += ("{x}\n{y}\n{z}", "panel: {x}; {y}", "{x} -> {y}", "{x}, {y}, {z}")
PAIR_FRAMES += ("lunch with {x} tomorrow", "{x} (speaking), {y} (moderating)", "{x} vs {y}")


def labelled_template(rng: random.Random) -> str:
    """1-4 entities, each right after a label or heading (O), names sometimes followed by
    lowercase words (O); the text may open with a word and punctuation right before a name."""
    case = rng.choice((str.lower, str.title, str.upper, str.capitalize))
    sep, join = rng.choice(LABEL_SEPS), rng.choice(LABEL_JOINS)
    parts = []
    for i in range(rng.randint(1, 4)):
        slot = rng.choice(LABEL_SLOTS)
        typ = SLOT_TYPE[slot]
        if i == 0 and typ == "PERSON" and rng.random() < 0.25:
            label = case(rng.choice(OPENERS)) + rng.choice((", ", " - ", ": ", "! ", " "))
        elif rng.random() < 0.2:
            label = rng.choice(HEADINGS) + rng.choice(LABEL_SEPS)
        else:
            label = case(rng.choice(FIELD_LABELS[typ])) + (
                sep if rng.random() < 0.7 else rng.choice(LABEL_SEPS)
            )
        tail = ""
        if rng.random() < 0.35:
            tail = " " + rng.choice(NAME_TAILS if typ == "PERSON" else OTHER_TAILS)
        parts.append(label + "{" + slot + "}" + tail)
    return join.join(parts)


def delimited_record(rng: random.Random) -> str:
    """A person, a place and an organisation field next to each other in random order (plus 0-3
    other fields), as 1-3 delimited value lines under an optional header line, or key/value.
    One place field only: a street next to its city is one address elsewhere (``{A}``), so two
    adjacent place fields would teach the opposite boundary (validation LOCATION F1 fell)."""
    slots = ["P", rng.choice("CCNS"), "O"]
    others = [s for s in RECORD_FIELDS if s not in slots and s not in "CNS"]
    slots += rng.sample(others, rng.randint(0, 3))
    rng.shuffle(slots)
    delim = rng.choice(RECORD_DELIMS)
    case = rng.choice((str.lower, str.title, str.upper))
    names = [case(rng.choice(RECORD_FIELDS[s])) for s in slots]
    if rng.random() < 0.3:
        kv = rng.choice(RECORD_KV_SEPS)
        return delim.join(n + kv + "{" + s + "}" for n, s in zip(names, slots, strict=True))
    lines = [delim.join("{" + s + "}" for s in slots) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        lines.insert(0, delim.join(names))
    return "\n".join(lines)


def pair_template(rng: random.Random) -> str:
    """Persons right next to organisations ("{P}, {O}", "{O} - {P}", ...) in a short frame."""
    frame = rng.choice(PAIR_FRAMES)
    for key in ("{x}", "{y}", "{z}"):
        frame = frame.replace(key, rng.choice(PAIR_FORMS))
    return frame


# "distractors" (issue #8, precision): entities next to things that look like them but are O:
# user handles made of a person's name ("@jdoe84", "login: maria_rossi"), Title Case phrases that
# name no person, place or organisation (products, courses, dishes, app features), amounts and
# quantities right after a name, and a Title Case line right under a name.
HANDLE_LABELS = ("username", "login", "user tag", "user id", "screen name", "alias", "nick")
HANDLE_LABELS += ("posted by", "dm", "ping", "gh", "slack", "uploader", "owner id", "logon")
HANDLE_FORMS = ("@{h}", "{h}", "u/{h}", "github.com/{h}", "/home/{h}/", "({h})", "~{h}")
TITLED: tuple[str, ...] = ("Wireless Mouse", "Dark Mode", "Trail Runner", "Vegan Burger")
TITLED += ("Spring Clearance", "Revenue Dashboard", "Laptop Sleeve", "Yoga Mat", "Coffee Grinder")
TITLED += ("Night Shift", "Advanced Spreadsheets", "Beginner Guitar", "Green Tea", "Quick Setup")
TITLED += ("Winter Jacket", "Carbon Frame", "Light Theme", "Phone Sleeve", "Cotton Hoodie")
TITLED += ("Bluetooth Speaker", "Thermal Mug", "Solar Lamp", "Baby Monitor", "Python Essentials")
TITLED += ("Lemon Cake", "Chicken Curry", "Gift Card", "Loyalty Points", "Weekly Digest")
TITLED += ("Typing Indicator", "Auto Save", "Free Trial", "Unlimited Texts", "Mountain Bike")
TITLED += ("Garden Hose", "Kids Menu", "Photo Editor", "Tax Form", "Mortgage Calculator")
AMOUNTS = ("${n}.{c}", "€{n},{c}", "{n} pcs", "* {k}", "CHF {n}", "{n}.{c} AUD", "({k} units)")
AMOUNTS += ("£{n}", "{k} boxes", "{n} pts", "qty {k}", "{n}.{c}")
# short sentences that mention handles and Title Case phrases among entities
DISTRACT_SENTENCES = ("{P} bought the {Q} for {M}", "{F} likes the {Q}", "kudos @{V} for the {Q}")
DISTRACT_SENTENCES += ("ask {V} if the {Q} works", "{P} of {O} tried {Q} yesterday", "cc @{V}")
DISTRACT_SENTENCES += ("{Q} is sold out in {C}", "{O} launched {Q} in {C}", "{P} (@{V}) uses {Q}")
DISTRACT_SENTENCES += ("{Q} by {O}", "{F} switched to {Q}", "per @{V}: {Q} down to {M}")
DISTRACT_SENTENCES += ("@{V} @{V} see the {Q} below", "{P} rated {Q} 5/5", "{L} got the {Q}")
DISTRACT_PARTS = ("entity", "entity", "entity", "handle", "titled", "titled", "next", "sentence")


def handle(fake, rng: random.Random) -> str:
    """A user handle built from a person's name (lowercase ASCII, sometimes digits)."""
    first, last = (
        unicodedata.normalize("NFKD", x).encode("ascii", "ignore").decode().lower()
        for x in (fake.first_name(), fake.last_name())
    )
    first, last = (re.sub(r"[^a-z]", "", x) or "x" for x in (first, last))
    form = rng.choice(("{f}{l}", "{f}.{l}", "{f}_{l}", "{i}{l}", "{l}{f}", "{f}{d}", "{l}{i}{d}"))
    return form.format(f=first, l=last, i=first[0], d=rng.randint(1, 99))


def amount(rng: random.Random) -> str:
    form = rng.choice(AMOUNTS)
    return form.format(n=rng.randint(1, 9999), c=f"{rng.randint(0, 99):02d}", k=rng.randint(1, 12))


def distractor_template(rng: random.Random) -> str:
    """2-5 parts, at least one entity (bare or after a label), among user handles, Title Case
    non-entity phrases and amounts; ``next``: a name right before an amount or a Title Case line."""
    parts, has_entity = [], False
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(DISTRACT_PARTS)
        if kind == "entity":
            slot = rng.choice(LABEL_SLOTS)
            label = ""
            if rng.random() < 0.6:
                label = rng.choice(FIELD_LABELS[SLOT_TYPE[slot]]) + rng.choice(LABEL_SEPS)
                label = rng.choice((str.lower, str.title, str.capitalize))(label)
            parts.append(label + "{" + slot + "}")
            has_entity = True
        elif kind == "handle":
            h = rng.choice(HANDLE_FORMS).replace("{h}", "{V}")
            if rng.random() < 0.5:
                h = rng.choice(HANDLE_LABELS) + rng.choice((": ", " ", " - ", "=")) + h
            parts.append(h)
        elif kind == "titled":
            parts.append("{Q}" + rng.choice(("", "", " {M}", " - {M}", ": {M}")))
        elif kind == "sentence":
            sent = rng.choice(DISTRACT_SENTENCES)
            parts.append(sent)
            has_entity = has_entity or any(f"{{{x}}}" in sent for x in SLOT_TYPE)
        else:
            name = rng.choice(("{P}", "{P}", "{F}", "{L}"))
            after = rng.choice((" {M}", "\n{Q}", " {Q}", "\n{M}", ", {M}", " ({M})"))
            parts.append(name + after)
            has_entity = True
    if not has_entity:
        parts.insert(rng.randint(0, len(parts)), "{" + rng.choice(("P", "F", "O", "C")) + "}")
    return rng.choice((*LABEL_JOINS, "\n", "\n")).join(parts)


GENERATED: dict[str, Callable[[random.Random], str]] = {
    "fields": kv_record,
    "labelled": labelled_template,
    "records": delimited_record,
    "pairs": pair_template,
    "distractors": distractor_template,
}
FIX_FAMILIES = ("labelled", "records", "pairs")  # added by the issue-8 data fix


def _header(rng: random.Random) -> str:
    """A tag before the text, e.g. ``Memo - `` or ``[draft] ``, in a random case."""
    word = rng.choice((str.lower, str.title, str.upper))(rng.choice(HEADERS))
    if rng.random() < 0.2:
        return f"[{word}] "
    return word + rng.choice(HEADER_SEPS)


def _deterministic(fake) -> None:
    """Faker's it_IT city list is built from a set, so its order (and every row drawn after an
    Italian city) changed with PYTHONHASHSEED; sorted, the rows are the same in every process."""
    for prov in fake.providers:
        if type(prov).__module__.endswith("address.it_IT"):
            prov.cities = sorted(prov.cities)


def synthetic(
    n_per_family: int, seed: int, split: str, families=None, templates=TEMPLATES
) -> list[PiiExample]:
    """``n_per_family`` rows of each family (default: every training family) from ``templates``."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed * 100 + i)
        _deterministic(f)
    out = []
    for fam in families or [*(f for f in TEMPLATES if f != HELDOUT_FAMILY), *GENERATED]:
        for _ in range(n_per_family):
            fake = fakers[rng.choice(LOCALES)]
            make = GENERATED.get(fam) if templates is TEMPLATES else None
            template = make(rng) if make else rng.choice(templates[fam])
            if fam in PREFIXED and rng.random() < 0.4:
                template = _header(rng) + template
            text, spans = render(template, fake, rng)
            out.append(PiiExample(text, spans, f"synthetic:{fam}", split))
    return out


def blind(n_per_family: int = 300, seed: int = 4) -> list[PiiExample]:
    """The blind held-out family (split ``blind``): BLIND_TEMPLATES, never trained on."""
    return synthetic(
        n_per_family, seed, BLIND, families=list(BLIND_TEMPLATES), templates=BLIND_TEMPLATES
    )


def dev(n_per_family: int = 200, seed: int = 5) -> list[PiiExample]:
    """The development family (split ``dev``): DEV_TEMPLATES, never trained on."""
    return synthetic(n_per_family, seed, DEV, families=list(DEV_TEMPLATES), templates=DEV_TEMPLATES)


def long_context(rows: list[PiiExample], n: int, seed: int) -> list[PiiExample]:
    """n training rows with entities moved deep into a long window: PII-free training negatives
    (benign prompts without proper nouns) joined before the row, and sometimes after it, to
    40-1800 characters each. The head otherwise sees short sentences only, and its F1 halved
    once ~350 tokens of other text came first (pii.long_context_scores, which uses fillers of
    its own)."""
    rng = random.Random(seed)
    pool = [r.text for r in rows if r.split == "train" and r.source == "negative"]
    entity_rows = [r for r in rows if r.split == "train" and r.spans]
    if not pool or not entity_rows:
        return []

    def filler(limit: int) -> str:
        parts: list[str] = []
        while sum(map(len, parts)) < limit:
            parts.append(rng.choice(pool))
        return rng.choice((" ", "\n", "\n\n")).join(parts) + rng.choice((" ", "\n", "\n\n"))

    out = []
    for r in rng.sample(entity_rows, min(n, len(entity_rows))):
        before = filler(rng.randint(40, 1800))
        after = filler(rng.randint(40, 900)) if rng.random() < 0.3 else ""
        after = " " + after.rstrip() if after else ""
        out.append(surrounded(r, before, after, "synthetic:long_context"))
    return out


def surrounded(row: PiiExample, before: str, after: str = "", source: str = "") -> PiiExample:
    """`row` with `before` and `after` around its text, its spans moved along (same split;
    same source unless `source` is given)."""
    spans = [(a + len(before), b + len(before), t) for a, b, t in row.spans]
    return PiiExample(before + row.text + after, spans, source or row.source, row.split)


def build(
    data_dir: Path,
    n_synth: int = 1000,
    n_val_synth: int = 120,
    n_heldout: int = 600,
    n_blind: int = 300,
    n_dev: int = 200,
):
    """All PII examples: train, val (presidio val templates + synthetic + negatives), heldout
    (ticket family), blind (BLIND_TEMPLATES, ``n_blind`` rows per style) and dev
    (DEV_TEMPLATES, ``n_dev`` rows per style)."""
    rows = load_presidio(data_dir)
    rows += synthetic(n_synth, seed=1, split="train")
    rows += synthetic(n_val_synth, seed=2, split="val")
    rows += synthetic(n_heldout, seed=3, split="heldout", families=[HELDOUT_FAMILY])
    rows += load_negatives(data_dir, n_train=1500, n_val=300)
    rows += long_context(rows, n=1200, seed=6)
    rows += blind(n_blind)
    rows += dev(n_dev)
    return rows


# ----------------------------------------------------------------------------- token labels


def bio_labels(offsets: list[tuple[int, int]], spans) -> list[int]:
    """Label index per token (offsets of the tokens without [CLS]/[SEP])."""
    labels = [0] * len(offsets)
    for a, b, t in spans:
        first = True
        for i, (s, e) in enumerate(offsets):
            if e > a and s < b and e > s:
                labels[i] = LABELS.index(("B-" if first else "I-") + t)
                first = False
    return labels


# Words dropped from the edges of a decoded entity (BUNDLE.md token heads, step 6): the
# runtime's default (guardrail/inference/bundle.py EDGE_SEPARATORS), a test keeps them equal.
# Not ")", "." or "'": they end gold addresses, companies ("Co.") and names.
SEPARATORS = ("-", ",", ";", ":", "(", "|", "/")


def separator_ids(tok, separators=SEPARATORS) -> set[int]:
    """Vocabulary ids of the separator strings (one missing from the vocabulary is skipped)."""
    return {i for i in map(tok.token_to_id, separators) if i is not None}


def to_words(probs, offsets, word_ids, separators=None):
    """Word level: a word's probability row is its first token's, its span covers all its tokens
    (subword continuations take the label of their word; BUNDLE.md token heads); a word is a
    separator when it is one token and that token is (``separators``: a flag per token)."""
    seps = [False] * len(offsets) if separators is None else separators
    rows, spans, flags, last = [], [], [], object()
    for p, (s, e), w, sep in zip(probs, offsets, word_ids, seps, strict=True):
        if w is not None and w == last:
            spans[-1][1] = max(spans[-1][1], e)
            flags[-1] = False  # a word of several tokens is never a separator
            continue
        rows.append(p)
        spans.append([s, e])
        flags.append(bool(sep))
        last = w
    return rows, [tuple(x) for x in spans], flags


BEGIN = [i for i, lab in enumerate(LABELS) if lab.startswith("B-")]
CONTINUE = [i for i, lab in enumerate(LABELS) if lab.startswith("I-")]
TYPE_COLS = {t: [LABELS.index(f"B-{t}"), LABELS.index(f"I-{t}")] for t in TYPES}


def decode(
    probs, offsets, thresholds: dict[str, float] | None = None, word_ids=None, separators=None
):
    """Entities (start, end, TYPE, score) from per-token probabilities (BUNDLE.md token heads):
    runs of non-O words, cut where a word's B- probabilities outweigh its I- ones; separator
    words at the start and end of each piece are dropped (none left: no entity); type by the
    largest summed B-X + I-X over the kept words; score = their mean of p(B-X) + p(I-X).

    With ``word_ids`` (the tokenizer's word index per token) decoding runs over words.
    ``separators``: per token, whether its id is in ``separator_ids`` (None: no trimming)."""
    if separators is None:
        separators = [False] * len(offsets)
    if word_ids is not None:
        probs, offsets, separators = to_words(probs, offsets, word_ids, separators)
    ents, run = [], []
    for p, (s, e), sep in zip(probs, offsets, separators, strict=True):
        if LABELS[int(p.argmax())] == "O" or e <= s:
            run = _close(ents, run)
            continue
        if run and p[BEGIN].sum() > p[CONTINUE].sum():
            run = _close(ents, run)
        run.append((s, e, p, sep))
    _close(ents, run)
    th = thresholds or {}
    return [x for x in ents if x[3] >= th.get(x[2], 0.5)]


def _close(ents, run):
    kept = [i for i, (*_, sep) in enumerate(run) if not sep]
    if kept:
        run = run[kept[0] : kept[-1] + 1]
        rows = np.stack([p for _, _, p, _ in run])
        # alphabetical order breaks ties, as the runtime does
        typ = max(sorted(TYPES), key=lambda t: float(rows[:, TYPE_COLS[t]].sum()))
        score = float(rows[:, TYPE_COLS[typ]].sum(axis=1).mean())
        ents.append((run[0][0], run[-1][1], typ, score))
    return []
