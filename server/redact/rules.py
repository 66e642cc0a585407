"""The detection rules redaction runs, each naming where it comes from.

Token formats come from detect-secrets (Yelp, Apache-2.0): its regex plugins are loaded and
their patterns reused as they are, so fixes upstream reach stead with a version bump.  Only
the patterns are used, never its scanning pipeline, which keeps global state and can call
provider APIs to "verify" a secret: redaction must never send anything anywhere.

What detect-secrets lacks is added here, each rule citing its source: newer token formats
(from gitleaks' default rule set, MIT, rule ids given), whole private-key blocks (detect-secrets
only flags the header line, which would leave the key body in the text), passwords in config
files, URLs, CLI flags and connection strings, HTTP authorization headers, high-entropy
strings (detect-secrets' thresholds), email addresses and IP addresses.
"""

from __future__ import annotations

import base64
import functools
import importlib
import ipaddress
import json
import logging
import math
import re
from collections.abc import Callable
from typing import Literal

from attrs import frozen

log = logging.getLogger(__name__)

Category = Literal["secret", "email", "ip"]

#: Characters a token-like secret is made of; a match is grown over them so that a rule
#: matching only a prefix of a longer key never leaves the rest of the key behind.
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


@frozen
class Rule:
    kind: str
    pattern: re.Pattern[str]
    source: str
    #: Which group holds the secret: a group number or name, 0 for the whole match, None
    #: for "the first group that matched, else the whole match" (detect-secrets' convention).
    group: int | str | None = 0
    category: Category = "secret"
    #: Lower wins when two findings overlap (specific formats beat generic heuristics).
    priority: int = 1
    #: Grow the span over adjacent token characters.
    extend: bool = True
    #: Strip these characters from both ends of the secret (rules that match delimiters).
    trim: str = ""
    validate: Callable[[str], bool] | None = None
    #: Cheap pre-filters: the regex only runs on lines near one of these literals
    #: (`itriggers` are matched case-insensitively).  None of them: the whole text is scanned.
    triggers: tuple[str, ...] = ()
    itriggers: tuple[str, ...] = ()
    #: How far before and after a trigger a match may reach.
    before: int = 0
    after: int = 400
    #: Custom extraction for rules that need the whole match to decide: returns the
    #: secret's (start, end, kind) or None.
    extract: Callable[[re.Match[str]], tuple[int, int, str] | None] | None = None
    #: "scan": search the whole text (or the windows around triggers when there are any);
    #: "match": try the pattern only *at* each trigger (patterns that begin with one).
    mode: Literal["scan", "match"] = "scan"
    #: Extend windows to whole lines (patterns that use `$` or `.*`).
    lines: bool = False
    #: A fast regex whose matches are the triggers (for formats without a fixed literal).
    trigger_re: re.Pattern[str] | None = None


# -- validators ------------------------------------------------------------------------


def _b64url_json(part: str) -> bool:
    padded = part + "=" * (-len(part) % 4)
    try:
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError):
        return False
    return isinstance(value, dict)


def _valid_jwt(token: str) -> bool:
    """A JWT's header and claims are base64url JSON objects (as detect-secrets checks)."""
    parts = token.split(".")
    return len(parts) >= 2 and _b64url_json(parts[0]) and _b64url_json(parts[1])


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_SEQUENCES = (
    "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    "0123456789012345678901234567890123456789",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/",
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "0123456789abcdef0123456789abcdef",
    "0123456789ABCDEF0123456789ABCDEF",
)
_UUID = re.compile(
    r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"
)


def _is_sequential(value: str) -> bool:
    """Alphabets and digit runs (detect-secrets' `is_sequential_string` filter)."""
    stripped = value.rstrip("=")
    return any(stripped in seq for seq in _SEQUENCES)


def _high_entropy_b64(value: str) -> bool:
    """detect-secrets' Base64HighEntropyString limit (4.5 bits/char), plus character mix.

    Identifiers and words (snake_case, dotted names, all-lowercase runs) are never secrets:
    a generated key has upper case, lower case and digits interleaved.
    """
    if _is_sequential(value) or _UUID.match(value):
        return False
    if not (
        any(c.isdigit() for c in value)
        and any(c.isupper() for c in value)
        and any(c.islower() for c in value)
    ):
        return False
    # long runs of letters are words (camelCase identifiers, sentences without spaces)
    if re.search(r"[a-z]{9,}", value) and not re.search(r"\d.*\d.*\d", value):
        return False
    return shannon_entropy(value) >= 4.5


def _high_entropy_hex(value: str) -> bool:
    """detect-secrets' HexHighEntropyString limit (3.0 bits/char) on hex keys of 32+ digits.

    Only used next to a secret-like keyword: bare hex strings are digests and commit ids.
    """
    if _is_sequential(value) or _UUID.match(value) or value.isdigit():
        return False
    return shannon_entropy(value) >= 3.0


# -- email and IP ----------------------------------------------------------------------

# RFC 2606 / 6761 names: documentation addresses are not personal data and redacting them
# would only confuse the model.
_RESERVED_DOMAINS = ("example.com", "example.org", "example.net", "example", "test", "invalid",
                     "localhost", "local")

# gTLDs seen in real addresses; together with every two-letter ccTLD this keeps code such as
# `x@self.weights` (a matrix product) from being taken for an address.
_GTLDS_TEXT = (
    "com org net edu gov mil int info biz name pro aero coop museum mobi jobs travel io ai "
    "dev app tech cloud online site xyz store blog email page live me co tv cc ly sh gg codes "
    "company digital group team tools software systems solutions network services engineering "
    "studio works world zone global space host website mail inc llc ltd agency academy center "
    "club design expert finance health media news one plus social support today top uk us eu "
    "asia lol fun run win link click rocks ninja wiki ventures consulting capital partners "
    "security foundation science"
)
_GTLDS = frozenset(_GTLDS_TEXT.split())


def _valid_email(value: str) -> bool:
    local, _, domain = value.rpartition("@")
    domain = domain.lower().rstrip(".")
    if local.lower() == "git":  # git@host:owner/repo is an SSH remote, not a person
        return False
    if any(domain == d or domain.endswith("." + d) for d in _RESERVED_DOMAINS):
        return False
    tld = domain.rsplit(".", 1)[-1]
    return (len(tld) == 2 and tld.isalpha()) or tld in _GTLDS


_DOC_NETS = tuple(
    ipaddress.ip_network(n)
    for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


_LINK_LOCAL_V4 = ipaddress.ip_network("169.254.0.0/16")


def _valid_ip(value: str) -> bool:
    """Real addresses only: loopback, unspecified, broadcast and documentation ranges say
    nothing about the user's network and are kept."""
    try:
        addr = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return False
    if addr.is_loopback or addr.is_unspecified or addr.is_multicast:
        return False
    if isinstance(addr, ipaddress.IPv4Address) and int(addr) == 0xFFFFFFFF:
        return False
    if any(addr in net for net in _DOC_NETS):
        return False
    if isinstance(addr, ipaddress.IPv4Address):
        if addr in _LINK_LOCAL_V4:  # 169.254.169.254 is every cloud's metadata service
            return False
        octets = [int(o) for o in value.split(".")]
        if octets[0] <= 2 and max(octets[1:]) <= 99:
            return False  # 1.6.1.58, 2.5.4.3: versions and OIDs, not the user's hosts
        if octets[0] == 0 or (all(o in _MASK_OCTETS for o in octets) and octets == sorted(
            octets, reverse=True
        )):
            return False  # netmasks and "this network" addresses
    if isinstance(addr, ipaddress.IPv6Address):
        groups = [g for g in value.split("%", 1)[0].split(":") if g]
        if len(groups) < 3 or addr.ipv4_mapped is not None:
            return False
    return True


# -- keyword assignments (passwords in config files, code, URLs, CLI flags) -------------

_PLACEHOLDER_RE = re.compile(r"<(?:SECRET_)?[A-Z0-9_]+_\d+>")

# Secret-ish key names.  Each alternative starts with one of _KEYWORD_TRIGGERS, so the
# rule is only tried where one of those words occurs (see `mode="match"`).  A key must start
# at a word boundary or a camelCase hump (`compass` is not `pass`) and whatever follows the
# keyword must start a new word (`keyword`, `tokenize` and `author` are not secrets).
_KW_LOWER = r"pass(?:word|wd|phrase)?|pwd|secret|token|apikey|key|auth|credentials?"
_KW_CAMEL = r"Pass(?:word|wd|phrase)?|Pwd|Secret|Token|Key|Auth|Credentials?"
#: ALL-CAPS names glue words together (PGPASSWORD, DBSECRET); compounds written in lower
#: case are common JSON keys (identitytoken, clientsecret, dbpassword).
_KW_UPPER = r"PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|APIKEY"
_COMPOUND_HEADS = ("identity", "registry", "access", "refresh", "api", "auth", "bearer",
                   "session", "client", "app", "bot", "private", "master", "admin", "root",
                   "db", "user", "store", "key", "trust", "service", "oauth", "login")
#: Lookbehinds (fixed width each), so a rule tried *at* "token" still sees "identitytoken".
_KW_COMPOUND = "(?:" + "|".join(f"(?<=(?i:{h}))" for h in _COMPOUND_HEADS) + ")" + (
    r"(?i:token|secret|password|passwd|pass|pwd|key)")
_KEY = (
    rf"(?:(?<![A-Za-z])(?i:{_KW_LOWER})|(?<=[a-z0-9])(?:{_KW_CAMEL})"
    rf"|(?<=[A-Z])(?:{_KW_UPPER})|{_KW_COMPOUND})"
    r"(?P<rest>(?:[_.\-A-Z0-9][A-Za-z0-9_.\-]{0,30}?)?)"
)
_PASSWORD_WORDS = ("pass", "pwd")
# key suffixes that name something other than the secret itself
_NOT_SECRET_SUFFIX = re.compile(
    r"(?i)(?:_?(?:file|path|dir|name|names|len|length|size|type|types|id|ids|url|uri|env|"
    r"var|field|fields|prompt|policy|hash|hasher|hashed|count|num|max|min|min_length|"
    r"required|enabled|regex|pattern|char|chars|label|help|hint|mode|class|kind|format|"
    r"header|endpoint|expiry|expires|expiration|ttl|validator|manager|store|source|"
    r"provider|callback|handler|fn|func|method|index|idx|pos|start|end|list|map|"
    r"set|stream|generator|iter|spec|str|text|error|exception|state|status|stat|mgr|hdr|"
    r"obj|object|info|option|options|params|cls|re|rx|s)|ize|izer|ized|izing|"
    r"ization|ization_\w+|s)$"
)

_ASSIGN = r"[\"']?\]?[ \t]*(?:=>|:=|::?|=)(?!=)[ \t]*"
_QUOTED = rf"{_KEY}{_ASSIGN}(?P<q>[\"'`])(?P<value>(?:(?!(?P=q))[^\\\n]|\\.){{1,8192}})(?P=q)"
_BARE = (
    rf"{_KEY}{_ASSIGN}(?P<value>[^\s\"'`,;&#()\[\]{{}}<>$%]"
    r"[^\s\"'`,;&#()\[\]{}<>]{0,8191})(?=[ \t]*(?:$|[;&#\n\r]|\s+#|\s*//)"
    # the next key=value of a one-line list (libpq conninfo, vault write, -e "k=v"), or
    # the quote closing the whole argument
    r"|[ \t]+[A-Za-z_][\w.\-]*=(?!=)|[\"'](?=[\s,\])]|$))"
)
_FLAG = (
    r"(?<![\w-])--?(?!no-)(?:[A-Za-z0-9]+-)*(?i:password|passwd|passphrase|pass|pwd|pw|token|"
    r"api-?key|secret|access-?key|secret-?key|auth-?token|client-?secret|storepass|keypass|"
    r"srcstorepass|deststorepass|srckeypass|destkeypass|requirepass|masterauth|"
    r"account-?key|storage-?key|master-?key|shared-?key|sas-?token|client-?key)"
    r"(?:[ =]|:(?=[^\s/\\]))"
    r"(?:(?P<q>[\"'])(?P<qv>(?:(?!(?P=q))[^\n\\]|\\.){3,400})(?P=q)"
    r"|(?P<v>[^\s\"'`$<>{}()\[\]\-][^\s\"'`$<>{}()\[\]]{2,8191})(?!\w))"
)
#: A flag's value: quoted (spaces allowed), or one shell word.
_FLAG_VALUE = (r"(?:(?P<q>[\"'])(?P<qv>(?:(?!(?P=q))[^\n\\]|\\.){1,400})(?P=q)"
               r"|(?P<v>[^\s\"'\-][^\s\"']*))")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z_.]*$")
_CODE_VALUE = re.compile(
    r"^(?:none|null|nil|true|false|undefined|str|string|bytes|int|bool|optional|any|self|"
    r"this|password|secret|token|required|yes|no|on|off|enabled|disabled|os\.environ.*|"
    r"process\.env.*)$",
    re.IGNORECASE,
)
_TEMPLATE = re.compile(
    r"^(?:\$\{.*\}|\$\w+|%\(?\w*\)?s|\{\{.*\}\}|\{\w*\}|<[^<>]*>|\*+|x+|\.+|-+)$", re.IGNORECASE
)


def _key_ok(rest: str) -> bool:
    return not _NOT_SECRET_SUFFIX.search(rest) if rest else True


_FORMAT_BITS = re.compile(r"%\(?\w*\)?[-#0 +]*\d*(?:\.\d+)?[sdrfxi]|\{[^{}]*\}|\$\{[^}]*\}|\$\w+")
_FULL_PASSWORD_WORDS = ("password", "passwd", "passphrase")


def _is_template(v: str) -> bool:
    if _TEMPLATE.match(v):
        return True
    rest = _FORMAT_BITS.sub("", v)
    return rest != v and not any(c.isalnum() for c in rest)


def looks_generated(v: str) -> bool:
    """A token, not a word or a name: letters and digits mixed, or long and mixed-case."""
    if len(v) < 8 or " " in v or re.fullmatch(r"[\d.:\-]+", v):
        return False
    letters = sum(c.isalpha() for c in v)
    digits = sum(c.isdigit() for c in v)
    if letters and digits:
        return not _IDENT_DOTTED.fullmatch(v)
    mixed = any(c.isupper() for c in v) and any(c.islower() for c in v)
    return len(v) >= 20 and mixed and not re.search(r"[a-z]{6,}", v)


_IDENT_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")


_PASSWORD_END = re.compile(r"(?:pass(?:word|wd|phrase)?|pwd)$")


def names_password(keyword: str) -> bool:
    """`password`, `passwd`, `pwd`, and compounds ending in one (`dbpassword`, `storepass`)."""
    kw = keyword.lower()
    return kw.startswith(_PASSWORD_WORDS) or bool(_PASSWORD_END.search(kw))


def keyword_value_is_secret(
    keyword: str, rest: str, value: str, quoted: bool, attribute: bool = False
) -> bool:
    """Whether the value assigned to a secret-like key is itself the secret.

    Password keys take any literal (people do write `password = "hunter2"`); other keys
    (token, key, secret, auth) need something that looks generated, so that `token = "NAME"`
    in a tokenizer is left alone.  Unquoted values are taken only where they cannot be code:
    not after an attribute (`self.password = password`), not a (dotted) name without digits.
    Variables, types, templates and empty values are never secrets.  Pure, table-tested.
    """
    if not _key_ok(rest):
        return False
    v = value.strip()
    if not v or _PLACEHOLDER_RE.fullmatch(v) or _is_template(v) or _CODE_VALUE.match(v):
        return False
    if is_public_material(v):
        return False
    kw = keyword.lower()
    is_password = names_password(kw)
    if not quoted:
        if attribute or _IDENT_DOTTED.fullmatch(v):
            return False  # `self.password = x`, `password: config.password`
        if re.fullmatch(r"[A-Za-z_]+", v) and (not is_password or (v.islower() and "_" in v)):
            return False  # `token = next_token`, `api_key: str`, `password = user_password`
    if not is_password:
        return looks_generated(v)
    if re.fullmatch(r"\d+", v) and quoted is False and len(v) < 4:
        return False
    if " " in v or "\\n" in v:
        return kw.startswith(_FULL_PASSWORD_WORDS) and len(v.split()) <= 6 and "\\n" not in v
    return len(v) >= 3


# -- rule table ------------------------------------------------------------------------

_ASSIGN_WORDS = ("key", "pwd", "pw", "pass", "token", "api")


def _prefixed(prefix: str) -> tuple[str, ...]:
    """Triggers for detect-secrets' `<prefix>(_|-|)<keyword>` assignment rules."""
    return tuple(f"{prefix}{sep}{w}" for sep in ("_", "-", "") for w in _ASSIGN_WORDS)


#: module, class, stead kind, case-sensitive triggers, case-insensitive triggers
_DS_PLUGINS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("aws", "AWSKeyDetector", "AWS_KEY", ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), ("aws",)),
    ("artifactory", "ArtifactoryDetector", "ARTIFACTORY_TOKEN", ("AKC", "AP"), ()),
    ("azure_storage_key", "AzureStorageKeyDetector", "AZURE_STORAGE_KEY", ("AccountKey=",), ()),
    ("basic_auth", "BasicAuthDetector", "URL_PASSWORD", ("://",), ()),
    ("cloudant", "CloudantDetector", "CLOUDANT_KEY", (), ("cloudant", "clou", *_prefixed("cl"))),
    ("discord", "DiscordBotTokenDetector", "DISCORD_TOKEN", (), ()),
    ("github_token", "GitHubTokenDetector", "GITHUB_TOKEN", ("gh",), ()),
    ("gitlab_token", "GitLabTokenDetector", "GITLAB_TOKEN", ("gl", "GR1348941"), ()),
    ("ibm_cloud_iam", "IbmCloudIamDetector", "IBM_CLOUD_KEY", (), ("ibm", "iam")),
    ("ibm_cos_hmac", "IbmCosHmacDetector", "IBM_COS_KEY", (), ("secret",)),
    ("jwt", "JwtTokenDetector", "JWT", ("eyJ",), ()),
    ("mailchimp", "MailchimpDetector", "MAILCHIMP_KEY", ("-us",), ()),
    ("npm", "NpmDetector", "NPM_TOKEN", ("_authToken",), ()),
    ("openai", "OpenAIDetector", "OPENAI_KEY", ("sk-",), ()),
    ("pypi_token", "PypiTokenDetector", "PYPI_TOKEN", ("pypi-",), ()),
    ("sendgrid", "SendGridDetector", "SENDGRID_KEY", ("SG.",), ()),
    ("slack", "SlackDetector", "SLACK_TOKEN", (), ("xox", "hooks.slack.com")),
    ("softlayer", "SoftlayerDetector", "SOFTLAYER_KEY", (), ("softlayer", *_prefixed("sl"))),
    ("square_oauth", "SquareOAuthDetector", "SQUARE_SECRET", ("sq0csp-",), ()),
    ("stripe", "StripeDetector", "STRIPE_KEY", ("k_live_",), ()),
    ("telegram_token", "TelegramBotTokenDetector", "TELEGRAM_TOKEN", (), ()),
    ("twilio", "TwilioKeyDetector", "TWILIO_KEY", ("AC", "SK"), ()),
)
#: detect-secrets plugins deliberately not used: KeywordDetector, the high-entropy plugins
#: and IPPublicDetector are replaced by the rules below (they report values, not spans, and
#: are tuned for files rather than prompts); PrivateKeyDetector flags only the header line.

_NO_EXTEND = {"URL_PASSWORD", "NPM_TOKEN"}
# Assignment-style detect-secrets rules start up to ~60 characters before their keyword.
_BEFORE = {"IBM_CLOUD_KEY": 60, "IBM_COS_KEY": 40, "CLOUDANT_KEY": 200, "SOFTLAYER_KEY": 80,
           "AWS_KEY": 0, "URL_PASSWORD": 300, "TELEGRAM_TOKEN": 12}
_DS_VALIDATE: dict[str, Callable[[str], bool]] = {}
_TELEGRAM_HINT = re.compile(r":[0-9A-Za-z_-]{35}")


def _ds_rules() -> list[Rule]:
    _DS_VALIDATE.update({"JWT": _valid_jwt, "URL_PASSWORD": _not_template})
    rules: list[Rule] = []
    for module_name, class_name, kind, triggers, itriggers in _DS_PLUGINS:
        try:
            module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
            plugin = getattr(module, class_name)
            patterns = list(plugin.denylist)
        except Exception as exc:  # a missing or changed plugin loses one rule, not all
            log.warning("redaction: detect-secrets %s unavailable (%s)", class_name, exc)
            continue
        for pattern in patterns:
            rules.append(
                Rule(
                    kind=kind,
                    pattern=pattern,
                    source=f"detect-secrets {class_name}",
                    group=None,
                    extend=kind not in _NO_EXTEND,
                    trim=" \t\"'=:\n" if kind in ("ARTIFACTORY_TOKEN", "NPM_TOKEN") else "",
                    validate=_DS_VALIDATE.get(kind),
                    priority=2 if kind in ("URL_PASSWORD", "TELEGRAM_TOKEN") else 1,
                    triggers=triggers,
                    itriggers=itriggers,
                    before=_BEFORE.get(kind, 0),
                    after={"URL_PASSWORD": 2000, "TELEGRAM_TOKEN": 40}.get(kind, 300),
                    lines=kind in ("ARTIFACTORY_TOKEN", "NPM_TOKEN"),
                    trigger_re=_TELEGRAM_HINT if kind == "TELEGRAM_TOKEN" else None,
                )
            )
    return rules


def _r(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _not_template(v: str) -> bool:
    return not _is_template(v) and not _PLACEHOLDER_RE.fullmatch(v)


_KEYWORD_TRIGGERS = ("pass", "pwd", "secret", "token", "apikey", "key", "auth", "credential")


def _keyword_extract(quoted: bool) -> Callable[[re.Match[str]], tuple[int, int, str] | None]:
    def extract(m: re.Match[str]) -> tuple[int, int, str] | None:
        rest = m.group("rest") or ""
        keyword = m.group(0)[: m.start("rest") - m.start()] if m.group("rest") is not None else ""
        value = m.group("value")
        i = m.start()
        while i > 0 and (m.string[i - 1].isalnum() or m.string[i - 1] == "_"):
            i -= 1
        attribute = i > 0 and m.string[i - 1] == "." and not _property_key(m.string, i)
        if _PUBLIC_NAME.search(m.string[i:m.start()] + keyword):
            return None  # public_key, pubKey, PUBLIC_TOKEN_URL: named public
        if not keyword_value_is_secret(keyword, rest, value, quoted, attribute):
            return None
        kind = "PASSWORD" if names_password(keyword) else "SECRET"
        start, end = m.span("value")
        return start, end, kind

    return extract


_PUBLIC_NAME = re.compile(r"(?i)public|pub_?key|^pub")
_CODE_OWNERS = frozenset(("self", "this", "cls", "super", "os", "obj", "ctx", "req", "res",
                          "request", "response", "user", "args", "opts", "options", "kwargs"))


def _property_key(text: str, i: int) -> bool:
    """`spring.datasource.password=...` at the start of a line is a properties file, not an
    attribute assignment in code (`self.password = password`)."""
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_.-"):
        j -= 1
    if j > 0 and text[j - 1] != "\n":
        return False
    first = text[j:i].split(".", 1)[0]
    return bool(first) and first not in _CODE_OWNERS


def _hex_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    if not _key_ok(m.group("rest") or "") or not _high_entropy_hex(m.group("v")):
        return None
    return (*m.span("v"), "HEX_KEY")


def _email_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    return (*m.span(), "EMAIL") if _valid_email(m.group(0)) else None


_MASK_OCTETS = frozenset((0, 128, 192, 224, 240, 248, 252, 254, 255))
_VERSION_CONTEXT = re.compile(
    r"(?i)(?:version|release|section|spec|rfc|\bv|\bver|build|§|\boid|objectidentifier|"
    r"object identifier|obj_id)[\s:=\"'(>_,\[]*$")


def _ip_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    text, start, end = m.string, m.start(), m.end()
    if _VERSION_CONTEXT.search(text, max(0, start - 24), start):
        return None  # "version 1.2.3.4", "section 8.2.4.44"
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] in "_.:"):
        return None
    v6 = ":" in m.group(0)
    if end < len(text) and (text[end].isalnum() or text[end] == "_" or (v6 and text[end] == ":") or
                            (text[end] == "." and text[end + 1 : end + 2].isdigit())):
        return None
    return (start, end, "IP") if _valid_ip(m.group(0)) else None


# -- the families that need their own formats --------------------------------------------
_NOT_SECRET_REF = re.compile(r"(?i)^(?:env|file|fd|stdin|keychain|pass):?$|^(?:env|file|fd):")


_FILE_VALUE = re.compile(r"^(?:/|\./|\.\./|~/)|\.(?:pem|key|crt|cer|json|p12|pfx|jks|txt|"
                         r"asc|gpg|env)$", re.IGNORECASE)


def _flag_value(v: str) -> bool:
    """A flag's value, unless it points at the secret instead of being it (`env:VAR`,
    `file:path`, a file name, openssl's `-passin stdin`) or is a template."""
    return _not_template(v) and not _NOT_SECRET_REF.match(v) and not _FILE_VALUE.search(v)


#: An integrity hash names its algorithm (SRI, npm/yarn/pnpm lock files, nix narHash).
_DIGEST = re.compile(r"(?i)^(?:sha(?:1|224|256|384|512)|sha3-\d+|md5|blake2[bs]?|blake3)[-_:]")
#: OpenSSH public key blobs: base64 of the length-prefixed algorithm name.
_SSH_PUBLIC = ("AAAAB3NzaC1", "AAAAC3NzaC1", "AAAAE2VjZHNh", "AAAAG3NrLXNzaC1")
#: Keys whose values are public or identifiers by definition (JWK, RFC 7517/7518) or
#: digests by name.
_PUBLIC_KEYS = frozenset(("n", "e", "x", "y", "x5c", "x5t", "x5t#s256", "kid", "kty", "alg",
                          "use", "crv", "modulus", "exponent", "publickey", "public_key",
                          "pubkey", "public", "certificate", "cert", "x509"))
_DIGEST_KEY = re.compile(r"(?i)(?:hash|digest|checksum|integrity|sha\d*|fingerprint|etag|"
                         r"nonce|sri|crc|md5)$")
_KEY_BEFORE = re.compile(r"[\"']?(?P<k>[A-Za-z_#][\w#.\-]{0,40})[\"']?\s*(?:=>|:=|:|=)\s*$")


def _public_der(value: str) -> bool:
    """Base64 DER that is a public key or certificate: SEQUENCE { SEQUENCE ... } (SPKI,
    X.509), where private keys (PKCS#1, PKCS#8, SEC1) start SEQUENCE { INTEGER ... }."""
    if not value.startswith("MI") and not value.startswith("MF") and not value.startswith("MC"):
        return False
    try:
        head = base64.b64decode(value[:16] + "=" * (-len(value[:16]) % 4))
    except ValueError:
        return False
    if len(head) < 4 or head[0] != 0x30:
        return False
    n = head[1]
    offset = 2 + (n & 0x7F if n & 0x80 else 0)
    return offset < len(head) and head[offset] == 0x30


_SSH_PUBLIC_LINE = re.compile(r"^(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+@openssh\.com)"
                              r"\s+AAAA")


def is_public_material(value: str) -> bool:
    """Public keys, certificates and labelled digests: random-looking, but not secrets."""
    v = value.strip()
    return bool(_DIGEST.match(v) or v.startswith(_SSH_PUBLIC) or _SSH_PUBLIC_LINE.match(v)
                or _public_der(v))


def _entropy_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    value = m.group("v")
    if is_public_material(value):
        return None
    key = _KEY_BEFORE.search(m.string, max(0, m.start() - 60), m.start())
    if key is not None:
        name = key.group("k").lower()
        if name in _PUBLIC_KEYS or _DIGEST_KEY.search(name):
            return None
    if not _high_entropy_b64(value):
        return None
    return (*m.span("v"), "HIGH_ENTROPY")


def _flag_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    group = "qv" if m.group("qv") is not None else "v"
    if m.group(group) is None or not _flag_value(m.group(group)):
        return None
    return (*m.span(group), "PASSWORD")


def _family_rules() -> list[Rule]:
    """Formats and contexts detect-secrets and gitleaks' basics miss: each rule says whose
    documented format it follows."""
    pct = r"(?:[A-Za-z0-9+/_~.\-]|%[0-9A-Fa-f]{2})"
    tool = r"[^\n|;&]*?\s"  # the rest of the same command
    return [
        # HashiCorp Vault: hvs./hvb./hvr. tokens (Vault >= 1.10 token formats) and legacy
        # s./b. tokens where Vault is named.
        Rule("VAULT_TOKEN", _r(r"(?<![\w.])hv[sbr]\.[A-Za-z0-9_\-]{20,}"),
             "stead (HashiCorp Vault token prefixes)", triggers=("hvs.", "hvb.", "hvr.")),
        Rule("VAULT_TOKEN", _r(
            r"(?i:vault[_-]?token|x-vault-token|vault\s+login)[\"']?(?:\s*[:=]\s*|\s+)"
            r"[\"']?(?:-\S+\s+)*(?P<v>[sb]\.[A-Za-z0-9]{20,})"),
            "stead (HashiCorp Vault legacy tokens)", group="v", extend=True,
            itriggers=("vault",), after=200),
        # Signed URLs: Azure SAS `sig`, S3 and GCS presigned signatures and session
        # tokens, CloudFront `Signature`: URL-encoded base64 or hex.
        Rule("SIGNED_URL", _r(
            r"(?<![A-Za-z0-9_-])(?:sig|X-Amz-Signature|X-Amz-Security-Token|X-Goog-Signature|"
            rf"Signature|SharedAccessSignature|se?ssion[_-]?token)=(?P<v>{pct}{{16,8192}})"),
            "stead (Azure SAS, AWS SigV4, GCS V4, CloudFront signed URLs)", group="v",
            priority=2, extend=False, triggers=("sig=", "Signature=", "Security-Token=",
                                                "ession_token=", "essionToken=",
                                                "ession-token="),
            before=40, after=8400, mode="scan"),
        Rule("AZURE_KEY", _r(r"(?i:SharedAccessKey|AccessKey|PrimaryKey|SecondaryKey)=(?P<v>"
                             r"[A-Za-z0-9+/]{20,}={0,2})"),
             "stead (Azure Service Bus / Event Hubs / IoT connection strings)", group="v",
             priority=1, extend=False, itriggers=("key=",), before=20),
        # Session cookies: the value is the login.
        Rule("SESSION", _r(
            r"(?<![\w.-])(?i:session(?:id|_id|-id|_token|token|_key)?|sid|connect\.sid|"
            r"phpsessid|jsessionid|asp\.net_sessionid|_session_id|laravel_session|"
            r"_[a-z]+_session)=(?P<v>[A-Za-z0-9%._~+/:=\-]{16,8192})"),
            "stead (session cookies)", group="v", priority=2, extend=False,
            validate=lambda v: looks_generated(v.rstrip("=")) or len(v) >= 32,
            itriggers=("sess", "sid="), before=30),
        # Redis: requirepass / masterauth in redis.conf or CONFIG SET, redis-cli -a.
        Rule("PASSWORD", _r(
            r"(?im)^[ \t]*(?:config\s+set\s+)?(?:requirepass|masterauth)[ \t]+[\"']?"
            r"(?P<v>[^\s\"']+)"), "stead (redis.conf)", group="v", priority=2, extend=False,
            validate=_not_template, itriggers=("requirepass", "masterauth"), before=40,
            lines=True),
        # Tools whose short flag is a password (their manuals): redis-cli -a, sshpass -p,
        # docker/podman/helm login -p, mysql -pSECRET, sqlcmd/bcp -P, mongosh -p,
        # ldapsearch -w, smbclient -U user%pw, az login -p, PuTTY -pw, openssl pass:...
        Rule("PASSWORD", _r(
            rf"(?:\bredis-cli\b{tool}-a|\bsshpass\b{tool}-p|"
            rf"\b(?:docker|podman|nerdctl|buildah|skopeo|oras|helm\s+registry|az)\s+login\b"
            rf"{tool}-p|\b(?:sqlcmd|bcp|osql)\b{tool}-P|"
            rf"\bmongo(?:sh|dump|restore|import|export)?\b{tool}-p|"
            rf"\bldap(?:search|add|modify|delete|passwd|whoami|compare|modrdn)\b{tool}-w|"
            rf"\b(?:plink|pscp|psftp|putty)\b{tool}-pw)[ \t]*{_FLAG_VALUE}"),
            "stead (tools' password flags)", priority=2, extend=False, extract=_flag_extract,
            itriggers=("redis-cli", "sshpass", " login", "sqlcmd", "bcp", "osql", "mongo",
                       "ldap", "plink", "pscp", "psftp", "putty"), after=600, lines=True),
        Rule("PASSWORD", _r(rf"\bmysql(?:dump|admin|import|check|sh|slap)?\b{tool}-p"
                            r"(?P<v>[^\s\"'\-][^\s\"']*)|\bmariadb(?:-dump)?\b"
                            rf"{tool}-p(?P<w>[^\s\"'\-][^\s\"']*)"),
             "stead (mysql -pPASSWORD)", group=None, priority=2, extend=False,
             validate=_flag_value, itriggers=("mysql", "mariadb"), after=600, lines=True),
        Rule("PASSWORD", _r(r"\bsmbclient\b[^\n|;&]*?-U\s*[\"']?[^\s%\"']+%(?P<v>[^\s\"']+)"),
             "stead (smbclient -U user%password)", group="v", priority=2, extend=False,
             itriggers=("smbclient",), after=600, lines=True),
        Rule("PASSWORD", _r(r"(?<![\w-])-(?:pass(?:in|out)?|passin|passout|k)\s+pass:"
                            r"(?P<v>[^\s\"']+)"),
             "stead (openssl pass:PASSWORD)", group="v", priority=2, extend=False,
             triggers=("pass:",), before=20),
        Rule("PASSWORD", _r(r"(?:\bcurl\b|\bhttp\b|\bwget\b)[^\n|;&]*?(?:\s-u|--user)[ =]"
                            r"[\"']?[^\s:\"']+:(?P<v>[^\s\"']+)"),
             "stead (curl -u user:password)", group="v", priority=2, extend=False,
             validate=_not_template, itriggers=("curl", "wget", "http "), after=600,
             lines=True),
        Rule("PASSWORD", _r(r"\bsqlplus\b\s+(?:-\S+\s+)*[\"']?[A-Za-z_][\w$#]*/"
                            r"(?P<v>[^\s@\"'/]+)"),
             "stead (sqlplus user/password)", group="v", priority=2, extend=False,
             itriggers=("sqlplus",), after=300),
        # Windows: net use \\server\share PASSWORD /user:NAME (either order).
        Rule("PASSWORD", _r(r"(?i:\bnet\s+use\b)[^\n]*?(?:\\\\\S+|/user:\S+)\s+"
                            r"(?P<v>[^\s/*\\][^\s]*)"),
             "stead (net use)", group="v", priority=2, extend=False, validate=_not_template,
             itriggers=("net use",), after=600, lines=True),
        # .netrc / _netrc: machine HOST login USER password PASS (any whitespace).
        Rule("PASSWORD", _r(r"\b(?:machine\s+\S+(?:\s+(?:login|account|port|protocol)\s+\S+)*"
                            r"|default(?:\s+(?:login|account)\s+\S+)+)\s+password\s+(?P<v>\S+)"),
             "stead (.netrc, ftp(1))", group="v", priority=2, extend=False,
             triggers=("machine", "default"), after=800),
        # .pgpass: hostname:port:database:username:password
        Rule("PASSWORD", _r(r"(?m)^(?P<h>\*|[A-Za-z0-9_.\-]*[A-Za-z][A-Za-z0-9_.\-]*|"
                            r"\d{1,3}(?:\.\d{1,3}){3}):(?:\d{1,5}|\*):[^:\s]+:[^:\s]+:"
                            r"(?P<v>\S+)[ \t]*$"),
             "stead (PostgreSQL .pgpass)", group="v", priority=2, extend=False,
             validate=_not_template, trigger_re=re.compile(r":(?:\d{1,5}|\*):"),
             before=120, after=300, lines=True),
        # XML elements and .NET appSettings naming a secret.
        Rule("SECRET", _r(r"<(?P<tag>[A-Za-z_][\w:.\-]{0,60})(?:\s[^<>]{0,200})?>"
                          r"(?P<value>[^<>\n]{1,8192})</(?P=tag)>"),
             "stead (XML element naming a secret: Maven settings.xml, app configs)",
             priority=3, extend=False, itriggers=("pass", "pwd", "secret", "token", "key>",
                                                  "auth", "credential"),
             before=70, after=8300, lines=True, extract=_xml_extract),
        Rule("SECRET", _r(r"<add\s+key=[\"'](?P<tag>[^\"']{1,80})[\"']\s+value=[\"']"
                          r"(?P<value>[^\"']{1,8192})[\"']"),
             "stead (.NET appSettings)", priority=3, extend=False, itriggers=("<add ",),
             after=8400, extract=_xml_extract),
        # VAR=secret command: an environment prefix on a command line.
        Rule("SECRET", _r(r"(?<![\w$.\-])(?P<tag>[A-Z][A-Z0-9_]{1,60})=(?P<q>[\"']?)"
                          r"(?P<value>[^\s\"'`;&|<>]{1,8192})(?P=q)"
                          r"(?=[ \t]+[\w./~$\-]|[\"'](?:[\s,\]]|$))"),
             "stead (VAR=secret command)", priority=3, extend=False,
             trigger_re=re.compile(r"(?:PASS|PWD|SECRET|TOKEN|KEY|AUTH|CREDENTIAL)[A-Z0-9_]*="),
             before=70, after=8300, extract=_env_extract),
        # name/value pairs: Kubernetes env, ECS task definitions, GitHub Actions inputs.
        Rule("SECRET", _r(r"name[\"']?\s*[:=]\s*[\"']?(?P<tag>[A-Za-z_][\w.\-]{0,80})"
                          r"[\"']?\s*,?\s*[\"']?value[\"']?\s*[:=]\s*(?P<q>[\"']?)"
                          r"(?P<value>(?:(?!(?P=q))[^\n,}]){1,8192})(?P=q)"),
             "stead (name/value pairs: Kubernetes env, ECS)", priority=3, extend=False,
             triggers=("name",), mode="match", extract=_xml_extract),
        # Terraform/OpenTofu: variable "db_password" { default = "..." }
        Rule("SECRET", _r(r"variable\s+\"(?P<tag>[^\"]{1,80})\"\s*\{[^{}]{0,400}?default\s*=\s*"
                          r"\"(?P<value>[^\"\n]{1,8192})\""),
             "stead (Terraform variable default)", priority=3, extend=False,
             triggers=("variable",), mode="match", extract=_xml_extract),
        # A password piped into a command that reads it from stdin.
        Rule("PASSWORD", _r(
            r"\b(?:echo|printf)\s+(?:-[ne]+\s+)?(?:'%s\\?n?'\s+)?(?P<q>[\"']?)"
            r"(?P<v>[^\s\"'|]{3,400})(?P=q)\s*\|\s*(?:sudo\s+(?:-\w+\s+)*-S\b|[^|\n]*?"
            r"--password-stdin|passwd\s+--stdin|chpasswd|[^|\n]*?--pass(?:word)?-?stdin)"),
            "stead (password piped to --password-stdin, sudo -S, chpasswd)", group="v",
            priority=2, extend=False, validate=_flag_value, triggers=("echo", "printf"),
            after=600, lines=True),
        # Tools that take the password as a positional argument (their manuals).
        Rule("PASSWORD", _r(
            r"\bhtpasswd\s+(?:-\w*b\w*\s+)(?:-\w+\s+)*\S+\s+\S+\s+(?P<v>[^\s|;&]+)"
            r"|\brabbitmqctl\s+(?:add_user|change_password)\s+\S+\s+(?P<w>[^\s|;&]+)"
            r"|\bnet\s+user\s+\S+\s+(?P<x>[^\s/*|;&][^\s|;&]*)"),
            "stead (htpasswd -b, rabbitmqctl, net user)", group=None, priority=2,
            extend=False, validate=_not_template,
            itriggers=("htpasswd", "rabbitmqctl", "net user"), after=600, lines=True),
        # Redis AUTH in a redis-cli session or a RESP transcript.
        Rule("PASSWORD", _r(r"(?m)^[ \t]*(?:[\w.:\-]*>[ \t]*)?AUTH[ \t]+(?:\S+[ \t]+)?"
                            r"(?P<v>[^\s\"']{4,})[ \t]*$"),
             "stead (Redis AUTH)", group="v", priority=2, extend=False,
             validate=lambda v: _not_template(v) and not re.fullmatch(r"[a-z]+", v),
             triggers=("AUTH ",), before=60, lines=True),
        # Password hashes (crypt(3) formats, bcrypt, Argon2): crackable offline.
        Rule("PASSWORD_HASH", _r(
            r"\$(?:2[abxy]\$\d\d\$[./A-Za-z0-9]{53}|apr1\$[./A-Za-z0-9]{1,8}\$[./A-Za-z0-9]{22}|"
            r"[156]\$(?:rounds=\d+\$)?[./A-Za-z0-9]{1,16}\$[./A-Za-z0-9]{22,86}|"
            r"argon2(?:id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|"
            r"y\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+\$[./A-Za-z0-9]{43})"),
            "stead (crypt(3), bcrypt, Argon2 PHC strings)", priority=1, extend=False,
            triggers=("$2", "$apr1$", "$1$", "$5$", "$6$", "$argon2", "$y$")),
    ]


_TAG_KEY = re.compile(rf"{_KEY}$")


def _named_value(tag: str, value: str, start: int, end: int, quoted: bool = True
                 ) -> tuple[int, int, str] | None:
    local = tag.rsplit(":", 1)[-1]
    k = _TAG_KEY.search(local)
    if k is None:
        return None
    keyword = local[k.start(): k.start("rest")]
    if not keyword_value_is_secret(keyword, k.group("rest") or "", value, quoted):
        return None
    return start, end, "PASSWORD" if names_password(keyword) else "SECRET"


def _xml_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    return _named_value(m.group("tag"), m.group("value"), *m.span("value"))


def _env_extract(m: re.Match[str]) -> tuple[int, int, str] | None:
    return _named_value(m.group("tag"), m.group("value"), *m.span("value"),
                        quoted=True)  # a shell assignment: the value is a literal


def _own_rules() -> list[Rule]:
    gl = "gitleaks"
    pem = "-----BEGIN"
    return [
        # Whole key blocks, PEM or escaped inside JSON ("\n"), any key type.
        Rule("PRIVATE_KEY", _r(
            r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"[\s\S]{0,20000}?-----END[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"),
            "stead (PEM, RFC 7468)", priority=0, extend=False, triggers=(pem,), after=20200),
        # A block cut off before its END line still must not leak its body.
        Rule("PRIVATE_KEY", _r(
            r"-----BEGIN[ A-Z0-9]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"(?:[A-Za-z0-9+/=\s:,.-]|\\n){0,20000}"),
            "stead (PEM, truncated)", priority=0, extend=False, triggers=(pem,), after=20200),
        Rule("PRIVATE_KEY", _r(
            r"PuTTY-User-Key-File-\d+:[\s\S]{0,20000}?Private-MAC: [0-9a-fA-F]+"),
            "stead (PuTTY key file)", priority=0, extend=False, triggers=("PuTTY-User-Key",),
            after=20200),
        Rule("GITHUB_TOKEN", _r(r"github_pat_[A-Za-z0-9_]{82}"), f"{gl} github-fine-grained-pat",
             triggers=("github_pat_",)),
        Rule("GITHUB_TOKEN", _r(r"gh[pousr]_[A-Za-z0-9]{36,255}"), f"{gl} github-pat",
             triggers=("gh",)),
        Rule("GOOGLE_API_KEY", _r(r"AIza[0-9A-Za-z_\-]{35}"), f"{gl} gcp-api-key",
             triggers=("AIza",)),
        Rule("GOOGLE_OAUTH_SECRET", _r(r"GOCSPX-[A-Za-z0-9_\-]{28}"), "stead (Google OAuth)",
             triggers=("GOCSPX-",)),
        Rule("ANTHROPIC_KEY", _r(r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_\-]{93}AA"),
             f"{gl} anthropic-api-key", triggers=("sk-ant-",)),
        Rule("OPENAI_KEY", _r(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}T3BlbkFJ"
                              r"[A-Za-z0-9_\-]{20,}"), f"{gl} openai-api-key", triggers=("sk-",)),
        Rule("OPENAI_KEY", _r(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{80,}"),
             "stead (OpenAI project keys)", triggers=("sk-",)),
        Rule("HUGGINGFACE_TOKEN", _r(r"(?<![A-Za-z0-9])hf_[A-Za-z]{34}(?![A-Za-z0-9])"),
             f"{gl} huggingface-access-token", triggers=("hf_",)),
        Rule("NPM_TOKEN", _r(r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}(?![A-Za-z0-9])"),
             f"{gl} npm-access-token", triggers=("npm_",)),
        Rule("PYPI_TOKEN", _r(r"pypi-AgE[A-Za-z0-9_\-]{50,}"), f"{gl} pypi-upload-token",
             triggers=("pypi-AgE",)),
        Rule("DIGITALOCEAN_TOKEN", _r(r"do[opr]_v1_[a-f0-9]{64}"), f"{gl} digitalocean-pat",
             triggers=("_v1_",), before=3),
        Rule("SHOPIFY_TOKEN", _r(r"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}"),
             f"{gl} shopify-access-token", triggers=("shp",)),
        Rule("DATABRICKS_TOKEN", _r(r"(?<![A-Za-z0-9])dapi[a-f0-9]{32}(?:-\d)?(?![A-Za-z0-9])"),
             f"{gl} databricks-api-token", triggers=("dapi",)),
        Rule("POSTMAN_KEY", _r(r"PMAK-[a-fA-F0-9]{24}-[a-fA-F0-9]{34}"), f"{gl} postman-api-token",
             triggers=("PMAK-",)),
        Rule("STRIPE_KEY", _r(r"(?<![A-Za-z0-9])(?:sk|rk)_(?:test|live|prod)_[0-9a-zA-Z]{10,99}"),
             f"{gl} stripe-access-token", triggers=("k_test_", "k_live_", "k_prod_"), before=1),
        Rule("SLACK_TOKEN", _r(r"xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+", re.IGNORECASE),
             f"{gl} slack-app-token", itriggers=("xapp-",)),
        Rule("SLACK_WEBHOOK", _r(r"https://hooks\.slack\.com/(?:services|workflows|triggers)/"
                                 r"[A-Za-z0-9+/_\-]{40,}"), f"{gl} slack-webhook-url",
             triggers=("hooks.slack.com",), before=10),
        Rule("AGE_SECRET_KEY", _r(r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
             f"{gl} age-secret-key", triggers=("AGE-SECRET-KEY-",)),
        Rule("AZURE_AD_SECRET", _r(r"(?<![A-Za-z0-9_~.])[a-zA-Z0-9_~.]{3}\dQ~"
                                   r"[a-zA-Z0-9_~.\-]{31,34}(?![A-Za-z0-9_~.\-])"),
             f"{gl} azure-ad-client-secret", extend=False, triggers=("Q~",), before=5),
        Rule("AWS_KEY", _r(r"(?<![A-Z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"
                           r"(?![A-Z0-9])"),
             f"{gl} aws-access-token", triggers=("AKIA", "ASIA", "ABIA", "ACCA", "A3T")),
        Rule("GRAFANA_TOKEN", _r(r"glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}"),
             f"{gl} grafana-service-account-token", triggers=("glsa_",)),
        Rule("SENTRY_TOKEN", _r(r"sntry[su]_[A-Za-z0-9+/=_\-]{60,}"), f"{gl} sentry-org-token",
             triggers=("sntry",)),
        Rule("JWT", _r(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*"),
             "stead (JWT, RFC 7519)", validate=_valid_jwt, triggers=("eyJ",), after=8000),
        # Authorization headers and bearer tokens (curl commands, HTTP logs, code).
        Rule("AUTH_HEADER", _r(
            r"(?i:authorization|proxy-authorization|x-api-key|x-auth-token|api-key)[\"']?\s*[:=,]\s*"
            r"[\"']?(?:(?i:bearer|basic|token|digest)\s+)?(?P<v>[A-Za-z0-9._~+/\-]{8,}=*)"),
            "stead (RFC 7235 credentials)", group="v", priority=2, extend=False,
            validate=lambda v: (not _IDENT.match(v) or any(c.isdigit() for c in v))
            and not re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", v)
            # a header name in a list ("Authorization", "Content-Type"), kebab-case words
            and not re.fullmatch(r"[A-Z][a-z]+(?:-[A-Z][a-z]+)+|[a-z]+(?:-[a-z]+)+", v),
            itriggers=("authorization", "api-key", "x-auth-token")),
        Rule("AUTH_HEADER", _r(r"(?i:\bbearer)\s+(?P<v>[A-Za-z0-9._~+/\-]{20,}=*)"),
             "stead (RFC 6750 bearer token)", group="v", priority=2, extend=False,
             validate=lambda v: any(c.isdigit() for c in v), itriggers=("bearer",)),
        # user:password@ in any URL (detect-secrets' BasicAuthDetector covers the common form;
        # this one also takes passwords with reserved characters up to the last @).
        Rule("URL_PASSWORD", _r(
            r"[a-zA-Z][a-zA-Z0-9+.\-]{1,20}://[^\s/:@'\"]{0,100}:(?P<v>[^\s/'\"]{1,200})@"
            r"[A-Za-z0-9\[]"), "stead (RFC 3986 userinfo)", group="v", priority=2,
            extend=False, validate=_not_template, triggers=("://",), before=25, after=320),
        Rule("PASSWORD", _r(_FLAG), "stead (command-line flags naming a secret)",
             priority=3, extend=False, extract=_flag_extract, before=80, lines=True,
             itriggers=("-pass", "-pw", "-token", "-api", "-secret", "-access", "-auth",
                        "-client", "storepass", "keypass", "requirepass", "masterauth",
                        "-account", "-storage", "-master", "-shared", "-sas")),
        *_family_rules(),
        Rule("SECRET", KEYWORD_QUOTED, "stead (secret-like key = quoted literal)", priority=3,
             extend=False, itriggers=_KEYWORD_TRIGGERS, mode="match",
             extract=_keyword_extract(quoted=True)),
        Rule("SECRET", KEYWORD_BARE, "stead (secret-like key = bare value: .env, YAML, INI)",
             priority=3, extend=False, itriggers=_KEYWORD_TRIGGERS, mode="match",
             extract=_keyword_extract(quoted=False)),
        Rule("HEX_KEY", ENTROPY_HEX, "detect-secrets HexHighEntropyString limit, after a key",
             priority=2, extend=False, itriggers=_KEYWORD_TRIGGERS, mode="match",
             extract=_hex_extract),
        Rule("HIGH_ENTROPY", ENTROPY_B64, "detect-secrets Base64HighEntropyString limit",
             priority=4, extend=False, extract=_entropy_extract),
        Rule("EMAIL", EMAIL, "stead (RFC 5322 addr-spec, common TLDs)", category="email",
             priority=5, extend=False, triggers=("@",), before=70, after=260,
             extract=_email_extract),
        Rule("IP", IPV4, "stead (IPv4, validated)", category="ip", priority=5, extend=False,
             trigger_re=_IPV4_HINT, before=4, after=12, extract=_ip_extract),
        Rule("IP", IPV6, "stead (IPv6, validated)", category="ip", priority=5, extend=False,
             trigger_re=_IPV6_HINT, before=40, after=45, extract=_ip_extract),
    ]


KEYWORD_QUOTED = re.compile(_QUOTED)
KEYWORD_BARE = re.compile(_BARE, re.MULTILINE)

#: Quoted base64-ish strings, the same places detect-secrets' entropy plugins look.
ENTROPY_B64 = re.compile(r"(?P<q>[\"'`])(?P<v>[A-Za-z0-9+/_\-]{20,8192}={0,2})(?P=q)")
#: Hex keys only right after a secret-like key.
ENTROPY_HEX = re.compile(
    rf"{_KEY}{_ASSIGN}[\"'`]?(?P<v>[0-9a-fA-F]{{32,256}})(?![0-9a-zA-Z])")

EMAIL = re.compile(
    r"(?<![\w.%+\-])[^\W_][\w.%+\-]{0,63}@"
    r"(?:[^\W_](?:[\w\-]{0,61}[^\W_])?\.){1,8}[^\W\d_]{2,24}(?![\w\-])"
)
# Candidates only; the boundaries (not inside a longer dotted or hex run) are checked in
# Python, which is several times faster than lookbehinds at every position.
IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
IPV6 = re.compile(r"[0-9A-Fa-f:]*:[0-9A-Fa-f]*:[0-9A-Fa-f:]*(?:%\w+)?")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV4_HINT = re.compile(r"\.\d{1,3}\.\d{1,3}\.")


@functools.cache
def rules() -> tuple[Rule, ...]:
    """All rules, built once per process (importing detect-secrets costs ~0.3 s)."""
    return (*_own_rules(), *_ds_rules())


def token_chars() -> frozenset[str]:
    return _TOKEN_CHARS
