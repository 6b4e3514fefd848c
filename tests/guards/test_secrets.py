"""The `secrets` guard: key formats, context finds, detect-secrets plugins, false positives.

Fake secrets are generated at run time, so that this file holds nothing a secret scanner
would flag.
"""

from __future__ import annotations

import base64
import random
import string
from typing import Any

import pytest

from guardrail.guards.secrets import known_types

ALNUM = string.ascii_letters + string.digits
_RANDOM = random.Random(7)


def rand(size: int, alphabet: str = ALNUM) -> str:
    """A deterministic pseudo-random string."""
    return "".join(_RANDOM.choice(alphabet) for _ in range(size))


PEM_BODY = [rand(64, ALNUM + "+/") for _ in range(4)]
PEM = "\n".join(["-----BEGIN RSA PRIVATE KEY-----", *PEM_BODY, "-----END RSA PRIVATE KEY-----"])
PASSWORD = "Tr0ub4dor&3x"
SLACK_HOOK = f"https://hooks.slack.com/services/T{rand(8).upper()}/B{rand(8).upper()}/{rand(24)}"
JWT = f"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.{rand(43, ALNUM + '_-')}"

# (label, text around {s}, secret)
POSITIVES = [
    ("openai_api_key", "OPENAI_API_KEY={s}", "sk-proj-" + rand(48, ALNUM + "_-")),
    ("openai_api_key", "key: {s}", "sk-" + rand(48)),
    ("anthropic_api_key", "ANTHROPIC_KEY = '{s}'", "sk-ant-api03-" + rand(93, ALNUM + "_-")),
    ("google_api_key", "maps?key={s}&x=1", "AIza" + rand(35, ALNUM + "_-")),
    ("github_token", "git clone https://{s}@github.com/o/r", "ghp_" + rand(36)),
    ("github_pat", "token {s}", "github_pat_" + rand(82, ALNUM + "_")),
    ("gitlab_token", "GITLAB={s}", "glpat-" + rand(20, ALNUM + "_-")),
    ("slack_token", "use {s} please", f"xoxb-{rand(12, string.digits)}-{rand(24)}"),
    ("slack_webhook", "post to {s}", SLACK_HOOK),
    ("stripe_key", "stripe: {s}", "sk_live_" + rand(24)),
    ("stripe_key", "stripe: {s}", "rk_live_" + rand(24)),
    ("aws_access_key_id", "id {s} ok", "AKIA" + rand(16, string.ascii_uppercase + string.digits)),
    ("aws_secret_access_key", 'aws_secret_access_key = "{s}"', rand(40, ALNUM + "/+")),
    ("aws_secret_access_key", "my aws secret access key is {s} ok", rand(40, ALNUM + "/+")),
    ("huggingface_token", "HF_TOKEN: {s}", "hf_" + rand(34, string.ascii_letters)),
    ("npm_token", "//registry.npmjs.org/:_authToken={s}", "npm_" + rand(36)),
    ("sendgrid_api_key", "{s}", f"SG.{rand(22, ALNUM + '_-')}.{rand(43, ALNUM + '_-')}"),
    ("twilio_api_key", "twilio {s}", "SK" + rand(32, "0123456789abcdef")),
    ("jwt", "Cookie: session={s}; Path=/", JWT),
    ("private_key", "key:\n{s}\nthanks", PEM),
    ("url_password", "DATABASE_URL=postgres://app:{s}@db.internal:5432/app", PASSWORD),
    ("url_password", "redis://:{s}@cache:6379/0", PASSWORD),
    ("secret_assignment", "DB_PASSWORD={s}", PASSWORD),
    ("secret_assignment", 'export ADMIN_PASS="{s}"', PASSWORD),
    ("secret_assignment", '{{"client_secret": "{s}", "x": 1}}', PASSWORD),
    ("secret_assignment", "My password is {s}.", PASSWORD),
    ("bearer_token", 'curl -H "Authorization: Bearer {s}" https://x', rand(32, ALNUM + "-._")),
    ("mailchimp_access_key", "mc {s}", rand(32, string.digits + "abcdef") + "-us12"),
    ("telegram_bot_token", "bot {s}", rand(9, string.digits) + ":" + rand(35, ALNUM + "_-")),
]


@pytest.mark.parametrize(("label", "template", "secret"), POSITIVES)
def test_secrets_are_found_and_spanned_exactly(
    build_guard: Any, found: Any, label: str, template: str, secret: str
) -> None:
    """Each format is labelled by its type and the span covers the secret value only."""
    assert found(build_guard("secrets"), template.format(s=secret)) == [(label, secret)]


IMAGE = "data:image/png;base64," + base64.b64encode(random.Random(3).randbytes(600)).decode()

NEGATIVES = [
    "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed it",
    'sha = "3f786850e387550fdab836ed7e6dc881de23001b"',
    "request id 123e4567-e89b-12d3-a456-426614174000",
    'id = "123e4567-e89b-12d3-a456-426614174000"',
    "password = ${DB_PASSWORD}",
    "PASSWORD=$DB_PASSWORD",
    'api_key: "<your-api-key>"',
    'token = "{{ secrets.TOKEN }}"',
    f'<img src="{IMAGE}">',
    "def login(user: str, password: str) -> bool:",
    "max_tokens=512, temperature=0.2",
    'token = os.environ["TOKEN"]',
    "password=config.DB_PASSWORD",
    "password = get_password()",
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
    "Your password is incorrect.",
    "the bearer of bad news",
    "postgres://user:${DB_PASS}@host/db",
    "postgres://localhost:5432/db and https://example.com:8080/path",
    "ask-abcdefghijklmnopqrstuvwxyz0123456789",
    "Authorization: Bearer <token>",
    "password: ********",
]


@pytest.mark.parametrize("text", NEGATIVES)
def test_look_alikes_are_not_secrets(build_guard: Any, found: Any, text: str) -> None:
    """Hashes, UUIDs, placeholders, image data and code references are not reported."""
    assert found(build_guard("secrets"), text) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"types": ["jwt"]}, ["jwt"]),
        ({"types": ["github_token", "url_password"]}, ["github_token", "url_password"]),
        ({"use_detect_secrets": False}, ["github_token", "url_password", "jwt"]),
        ({}, ["github_token", "url_password", "jwt", "mailchimp_access_key"]),
    ],
)
def test_types_choose_what_is_reported(
    build_guard: Any, found: Any, params: dict[str, Any], expected: list[str]
) -> None:
    """`types` restricts the labels; without detect-secrets its own formats are not found."""
    mailchimp = rand(32, string.digits + "abcdef") + "-us3"
    text = f"{'ghp_' + rand(36)} https://u:{PASSWORD}@h {JWT} {mailchimp}"
    assert [label for label, _ in found(build_guard("secrets", **params), text)] == expected


def test_entropy_detectors_are_opt_in(build_guard: Any, found: Any) -> None:
    """Quoted high-entropy strings are reported only when an entropy type is named."""
    text = f'blob = "{rand(48, ALNUM + "+/")}"'
    assert found(build_guard("secrets"), text) == []
    assert [
        label
        for label, _ in found(build_guard("secrets", types=["base64_high_entropy_string"]), text)
    ] == ["base64_high_entropy_string"]


def test_findings_group_spans_by_type(build_guard: Any, scan: Any) -> None:
    """One finding per (text, type), score 1.0, every occurrence a span."""
    key = "ghp_" + rand(36)
    findings = scan(build_guard("secrets"), "clean", f"{key} and again {key}")
    assert [(f.text_index, f.label, f.score, len(f.spans)) for f in findings] == [
        (1, "github_token", 1.0, 2)
    ]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"types": ["github_token", "nope"]}, "unknown secret types: nope; valid: "),
        ({"types": []}, "types must not be empty"),
        ({"use_detect_secrets": "no"}, "Input should be a valid boolean"),
        ({"entropy": 4.5}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_parameters_are_explained(
    config_error: Any, params: dict[str, Any], message: str
) -> None:
    """Unknown types fail validation and list the valid ones."""
    assert message in config_error("secrets", **params)


def test_every_known_type_is_snake_case() -> None:
    """Labels are stable snake_case names that rules can filter on."""
    assert all(t == t.lower() and " " not in t for t in known_types())


HOSTILE = [
    "ibm cloud iam key" + " " * 20_000,
    "password " + " " * 20_000 + "x",
    "secret_" * 3_000,
    "password=" * 2_000,
    '"a' * 10_000,
    "-" * 20_000,
    "a://" * 5_000,
    "sk-" * 7_000,
    "-----BEGIN PRIVATE KEY-----" * 700,
]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_scans_in_linear_time(build_guard: Any, scan: Any, text: str) -> None:
    """Inputs that make detect-secrets' own regexes backtrack for minutes finish promptly."""
    guard = build_guard("secrets", types=[*known_types()])
    assert isinstance(scan(guard, text), list)


@pytest.mark.slow
def test_quality_on_labelled_secrets(
    build_guard: Any, scan: Any, shared_jsonl: Any, span_tally: Any
) -> None:
    """Row and span precision/recall on ../shared/data/pii/secrets_synthetic.jsonl stay high."""
    guard = build_guard("secrets")
    rows = shared_jsonl("pii/secrets_synthetic.jsonl")
    pairs, flagged = [], []
    for row in rows:
        predicted = [(s.start, s.end, "secret") for f in scan(guard, row["text"]) for s in f.spans]
        pairs.append(([(s["start"], s["end"], "secret") for s in row["spans"]], predicted))
        flagged.append((row["label"] == "secret", bool(predicted)))
    spans = span_tally(pairs)["secret"]
    tp = sum(gold and hit for gold, hit in flagged)
    row_precision = tp / max(1, sum(hit for _, hit in flagged))
    row_recall = tp / max(1, sum(gold for gold, _ in flagged))
    print(
        f"secrets rows P={row_precision:.3f} R={row_recall:.3f}; "
        f"spans P={spans.precision:.3f} R={spans.recall:.3f} (n={len(rows)})"
    )
    assert min(row_precision, spans.precision) >= 0.97
    assert min(row_recall, spans.recall) >= 0.95


def test_a_secret_inside_an_encoded_value_is_reported_over_the_encoded_run(
    build_guard: Any, found: Any
) -> None:
    """A Kubernetes Secret carries its values in base64 and a config may carry a token in hex:
    the decoded value is searched too, and the whole encoded run is the span (named by the
    token's type, not only by the secret-sounding key before it)."""
    token = "ghp_16C7e42F292c6912E7710c838347Ae178B4a"
    encoded = base64.b64encode(token.encode()).decode()
    manifest = f"apiVersion: v1\nkind: Secret\ndata:\n  GH_TOKEN: {encoded}\n"
    assert found(build_guard("secrets"), manifest) == [("github_token", encoded)]
    for value in (encoded, token.encode().hex()):
        text = f"Here is the value you asked for: {value} - keep it safe."
        assert found(build_guard("secrets"), text) == [("github_token", value)]
        assert found(build_guard("secrets", read_encoded=False), text) == []


def _screened_exactly(guard: Any, text: str) -> None:
    """The guard's RE2 set names exactly the patterns that match `text` somewhere."""
    regexes = [*guard._patterns.values()]
    regexes += [c for plugin in guard._plugins for c in plugin.candidates or ()]
    expected = {i for i, regex in enumerate(regexes) if regex.search(text)}
    assert guard._screen.matching(text) == frozenset(expected)


@pytest.mark.parametrize("text", [t.format(s=s) for _, t, s in POSITIVES] + NEGATIVES)
def test_the_pattern_set_names_every_pattern_that_matches(build_guard: Any, text: str) -> None:
    """One RE2 set pass finds the same patterns as one scan per pattern (so skipping the
    others loses nothing), case-insensitive ones included."""
    guard = build_guard("secrets", types=[*known_types()])
    _screened_exactly(guard, text)
    _screened_exactly(guard, text.upper())
    _screened_exactly(guard, text.lower())


def test_a_text_longer_than_the_set_screens_is_scanned_by_every_pattern(
    build_guard: Any, found: Any
) -> None:
    """Past the set's length limit the patterns run one by one, and still find the secret."""
    from guardrail.guards._spans import Screen

    guard = build_guard("secrets")
    secret = "ghp_" + rand(36)
    text = "lorem ipsum " * (Screen.SCREEN_CHARS // 12 + 1) + f"token {secret} here"
    assert guard._screen.matching(text) is None
    assert found(guard, text) == [("github_token", secret)]
