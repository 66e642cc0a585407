"""Redaction as a pure function: what is caught, what is left alone, placeholders, restore.

Secrets are assembled from pieces at run time so that this file itself holds none.
"""

from __future__ import annotations

import base64
import json

import pytest

from server.redact import Placeholders, find, redact
from server.redact.rules import keyword_value_is_secret, looks_generated

A36 = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5Q"  # 36 alphanumerics
A40 = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _jwt() -> str:
    def enc(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{enc({'alg': 'HS256', 'typ': 'JWT'})}.{enc({'sub': '1234567890'})}.c2lnbmF0dXJlX2J5dGVz"


PEM = (
    "-----BEGIN RSA " + "PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n"
    "-----END RSA " + "PRIVATE KEY-----"
)

# (name, text, secret that must disappear, expected kind)
CAUGHT = [
    ("aws key id", 'aws_access_key_id="AKIA' + 'IOSFODNN7EXAMPL2"', "AKIA" + "IOSFODNN7EXAMPL2", "AWS_KEY"),
    ("aws secret file", "aws_secret_access_key = " + A40, A40, "SECRET"),
    ("github classic", "token ghp_" + A36, "ghp_" + A36, "GITHUB_TOKEN"),
    ("github fine grained", "github_pat_" + "A" * 22 + "_" + "b1" * 29 + "c", "github_pat_", "GITHUB_TOKEN"),
    ("gitlab", "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0", "glpat-x1Y2", "GITLAB_TOKEN"),
    ("slack bot", "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-1234", "SLACK_TOKEN"),
    ("stripe", "stripe.api_key = 'sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc'", "4eC39HqLyjWDarjtT1zdp7dc", "STRIPE_KEY"),
    ("google", "key=AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "SyD-9tSrke72PouQMnMX", "GOOGLE_API_KEY"),
    ("openai legacy", "sk-" + "a1b2c3d4e5f6g7h8i9j0" + "T3Blbk" + "FJ" + "k1l2m3n4o5p6q7r8s9t0", "T3BlbkFJ", "OPENAI_KEY"),
    ("anthropic", "sk-ant-" + "api03-" + "Ab1_" * 23 + "x" + "AA", "Ab1_Ab1_Ab1_", "ANTHROPIC_KEY"),
    ("huggingface", "HF=hf_" + "aBcDeFgHiJkLmNoPqRsTuVwXyZaBcDeFgH", "aBcDeFgHiJkLmNoPqRsT", "HUGGINGFACE_TOKEN"),
    ("npm", "//registry.npmjs.org/:_authToken=npm_" + A36, A36, "NPM_TOKEN"),
    ("sendgrid", "SG." + "abcdefghijKLMNOPQRSTuv" + "." + "0123456789abcdefghijABCDEFGHIJ0123456789abc", "abcdefghijKLMNOPQRSTuv", "SENDGRID_KEY"),
    ("jwt", "Authorization-Cookie: " + _jwt(), _jwt(), "JWT"),
    ("pem block", "key = '''" + PEM + "'''", "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun", "PRIVATE_KEY"),
    ("pem in json", json.dumps({"private_key": PEM}), "VTLw7onLRnrq0", "PRIVATE_KEY"),
    ("postgres url", "postgresql://app:S3cr3t!pw@db.internal:5432/orders", "S3cr3t!pw", "URL_PASSWORD"),
    ("dotenv", "DB_PASSWORD=Tr0ub4dor&3x\n", "Tr0ub4dor", "PASSWORD"),
    ("yaml", "database:\n  password: Winter2024!\n", "Winter2024!", "PASSWORD"),
    ("odbc", "Server=tcp:sql;Uid=app;Pwd=Xy9zQw8rT7;Encrypt=yes", "Xy9zQw8rT7", "PASSWORD"),
    ("python kwarg", 'login(user="admin", password="hunter2")', "hunter2", "PASSWORD"),
    ("json password", '{"username": "bob", "password": "correct horse battery"}', "correct horse battery", "PASSWORD"),
    ("cli flag", "mysql -u root --password=qW3rTy9Uiop orders", "qW3rTy9Uiop", "PASSWORD"),
    ("bearer", 'curl -H "Authorization: Bearer abc123DEF456ghi789JKL012"', "abc123DEF456ghi789JKL012", "AUTH_HEADER"),
    ("generic api key", 'WEATHER_API_KEY = "f3Gh8KlmN2pQrS5tUvW7xYz9AbCdE1g"', "f3Gh8KlmN2pQrS5tUvW7xYz9AbCdE1g", "SECRET"),
    ("hex secret key", "SECRET_KEY = '" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" + "'", "9f86d081884c7d659a2f", "HEX_KEY"),
    ("email", "contact jane.doe@acme.io please", "jane.doe@acme.io", "EMAIL"),
    ("ipv4", "ssh deploy at 10.20.30.40:22", "10.20.30.40", "IP"),
    ("ipv6", "listen [2a01:4f8:c17:1a2b::1]:443", "2a01:4f8:c17:1a2b::1", "IP"),
]


@pytest.mark.parametrize(("name", "text", "secret", "kind"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_secret_is_replaced(name: str, text: str, secret: str, kind: str) -> None:
    r = redact(text)
    assert secret not in r.text, r.text
    assert kind in {f.kind for f in r.findings}, r.findings
    for f in r.findings:
        assert f.placeholder in r.text
    assert r.placeholders.restore(r.text) == text


# Ordinary code and text that holds no secret must come back unchanged.
CLEAN = [
    "def password_strength(password: str) -> int:\n    return len(password)\n",
    "self.user, self.password = user, password\n",
    "token = tokens[0]\nif token == 'NAME':\n    pass\n",
    "api_key: str = os.environ['API_KEY']\n",
    "password = getpass.getpass()\n",
    "SECRET_KEY = env('SECRET_KEY')\n",
    "key = 'user_id'\nkeyword = 'lambda'\n",
    "author = 'Jane'\nauthority = 'https://login.example.com'\n",
    "h = hashlib.sha256(b'x').hexdigest()  # 9f86d081884c7d659a2feaa0c55ad015\n",
    "commit 3f2a9c1d8e7b6a5f4c3d2e1f0a9b8c7d6e5f4a3b\n",
    "version = '1.2.3.4'\nserver = ('127.0.0.1', 8080)\nmask = '255.255.255.0'\n",
    "see RFC 5737: 192.0.2.1 is for documentation; write to user@example.com\n",
    "uuid = '123e4567-e89b-12d3-a456-426614174000'\n",
    "ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'\n",
    "password = '%s:%s' % (user, pw)\nurl = f'{scheme}://{user}:{password}@{host}'\n",
    "x = a @ b.T\nstd::vector<int> v; for (auto& x : v) {}\n",
    "git@github.com:owner/repo.git\n",
    "The \"pass\" statement does nothing. Tokens: passes, bypass, compass.\n",
]


@pytest.mark.parametrize("text", CLEAN)
def test_ordinary_code_is_untouched(text: str) -> None:
    r = redact(text)
    assert r.findings == (), r.findings
    assert r.text == text


def test_same_secret_same_placeholder_within_a_request() -> None:
    key = "AKIA" + "ABCDEFGHIJKLMNOP"
    ph = Placeholders()
    a = redact(f"first {key} then {key}", ph)
    b = redact(f"later {key} and bob@corp.io", ph)
    assert a.text == "first <SECRET_AWS_KEY_1> then <SECRET_AWS_KEY_1>"
    assert b.text == "later <SECRET_AWS_KEY_1> and <EMAIL_1>"
    assert len(ph) == 2
    answer = "Rotate <SECRET_AWS_KEY_1> and tell <EMAIL_1>; <SECRET_UNKNOWN_9> stays."
    assert ph.restore(answer) == f"Rotate {key} and tell bob@corp.io; <SECRET_UNKNOWN_9> stays."


def test_different_secrets_get_numbered_placeholders() -> None:
    r = redact("a=alice@corp.io b=bob@corp.io a=alice@corp.io")
    assert r.text == "a=<EMAIL_1> b=<EMAIL_2> a=<EMAIL_1>"


def test_findings_point_at_original_offsets_and_lines() -> None:
    text = "x = 1\ny = 2\nmail = 'ops@corp.io'\n"
    r = redact(text)
    (f,) = r.findings
    assert (f.kind, f.line) == ("EMAIL", 3)
    assert text[f.start : f.end] == "ops@corp.io"


def test_secret_never_in_repr() -> None:
    key = "ghp_" + A36
    r = redact(f"token {key}")
    assert key not in repr(r)
    assert key not in repr(r.findings)
    assert key not in repr(r.placeholders)
    fp = r.placeholders.fingerprint(r.findings[0].placeholder)
    assert len(fp) == 8 and fp not in key


def test_redacting_twice_is_stable() -> None:
    text = "password = 'hunter22' and AKIA" + "ABCDEFGHIJKLMNOP"
    once = redact(text)
    twice = redact(once.text)
    assert twice.text == once.text
    assert twice.findings == ()


def test_existing_placeholder_is_never_reused_for_a_new_secret() -> None:
    r = redact("old <EMAIL_1> new carol@corp.io")
    assert r.text == "old <EMAIL_1> new <EMAIL_2>"
    assert r.placeholders.restore(r.text) == "old <EMAIL_1> new carol@corp.io"


def test_partial_token_match_is_grown_to_the_whole_token() -> None:
    # detect-secrets' OpenAI rule matches 20 characters after the marker; a longer key
    # must still vanish entirely.
    key = "sk-" + "a1b2c3d4e5f6g7h8i9j0" + "T3Blbk" + "FJ" + "k1l2m3n4o5p6q7r8s9t0" + "EXTRA123tail"
    assert "EXTRA123" not in redact(f"key: {key}").text


def test_truncated_private_key_block_is_still_removed() -> None:
    text = PEM.split("-----END")[0]  # the prompt was cut before the END line
    assert "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun" not in redact(text).text


def test_text_in_any_script_and_lone_surrogates() -> None:
    text = "пароль: ok\n密码 password = 'Zx9!secret'\nİstanbul \udcff mail ünï@corp.io\n"
    r = redact(text)
    assert "Zx9!secret" not in r.text
    assert "ünï@corp.io" not in r.text
    assert "İstanbul \udcff" in r.text


def test_large_prompt_keeps_offsets_right() -> None:
    filler = "for i in range(10):\n    total += i\n" * 50_000  # ~1.7 MB
    text = filler + "password = 'at-the-end-9'\n"
    r = redact(text)
    assert r.text.endswith("password = '<SECRET_PASSWORD_1>'\n")
    (f,) = r.findings
    assert f.line == 100_001


def test_find_matches_redact() -> None:
    text = "a bob@corp.io b AKIA" + "ABCDEFGHIJKLMNOP"
    assert [k for k, *_ in find(text)] == [f.kind for f in redact(text).findings]


@pytest.mark.parametrize(
    ("keyword", "rest", "value", "quoted", "expected"),
    [
        ("password", "", "hunter2", True, True),
        ("password", "", "hunter2", False, True),
        ("password", "", "user_password", False, False),
        ("password", "", "self.password", False, False),
        ("password", "_file", "/etc/pw", True, False),
        ("password", "", "${DB_PASSWORD}", False, False),
        ("password", "", "<SECRET_PASSWORD_1>", True, False),
        ("password", "", "None", False, False),
        ("password", "", "correct horse battery staple", True, True),
        ("pass", "", 'The "pass" statement', True, False),
        ("token", "", "NAME", True, False),
        ("token", "", "tok_9f8e7d6c5b4a", True, True),
        ("key", "", "user_id", True, False),
        ("auth", "", "1.3.6.1.5.5.7.3.1", True, False),
        ("secret", "_key", "django-insecure-9x8y7z6w5v4u", True, True),
        ("api_key", "", "os.environ", False, False),
        ("token", "ize", "x1y2z3w4v5", True, False),
    ],
)
def test_keyword_value_table(
    keyword: str, rest: str, value: str, quoted: bool, expected: bool
) -> None:
    assert keyword_value_is_secret(keyword, rest, value, quoted) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("f3Gh8KlmN2pQrS5t", True), ("development", False), ("1.2.3.4.5.6", False),
     ("module.attribute1", False), ("AbCdEfGhIjKlMnOpQrStUv", True), ("short1", False)],
)
def test_looks_generated(value: str, expected: bool) -> None:
    assert looks_generated(value) is expected
