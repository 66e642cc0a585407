"""Redaction recall and false positives, printed as figures.

Recall: a corpus generated here (seeded) of secrets in their real formats -- over 30 kinds,
each several times, in the places people paste them: source code, .env files, YAML, JSON,
shell commands, connection strings, HTTP headers.  A secret counts as caught only if no
8-character piece of it is left in the redacted text (a half-redacted key is a leak).

False positives: every finding in a large body of ordinary code that holds no secrets, the
Python standard library on disk (its test suites left out: they hold deliberate test keys).
Email and IP addresses found there are real (authors, examples) and counted apart.

    python bench/redaction.py [--stdlib DIR] [--per-kind N] [--show N]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import statistics
import string
import sys
import sysconfig
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.redact import find, redact

ALNUM = string.ascii_letters + string.digits
UPPER_B32 = string.ascii_uppercase + "234567"
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"


def rnd(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def pem_body(rng: random.Random, lines: int) -> str:
    return "\n".join(rnd(rng, B64, 64) for _ in range(lines)) + "\n" + rnd(rng, B64, 20) + "=="


# Each generator returns (secret values that must disappear, the text they sit in).
Gen = Callable[[random.Random], tuple[list[str], str]]


def _aws_id(r: random.Random) -> tuple[list[str], str]:
    k = "AKIA" + rnd(r, UPPER_B32, 16)
    return [k], f'client = boto3.client("s3", aws_access_key_id="{k}")\n'


def _aws_secret(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, B64, 40)
    kid = "AKIA" + rnd(r, UPPER_B32, 16)
    return [kid, k], (f"[default]\naws_access_key_id = {kid}\naws_secret_access_key = {k}\n"
                      "region = eu-west-1\n")


def _github_classic(r: random.Random) -> tuple[list[str], str]:
    k = "ghp_" + rnd(r, ALNUM, 36)
    return [k], f"git clone https://{k}@github.com/acme/private.git\n"


def _github_fine(r: random.Random) -> tuple[list[str], str]:
    k = "github_pat_" + rnd(r, ALNUM, 22) + "_" + rnd(r, ALNUM, 59)
    return [k], f"export GITHUB_TOKEN={k}\n"


def _gitlab(r: random.Random) -> tuple[list[str], str]:
    k = "glpat-" + rnd(r, ALNUM + "-_", 20)
    return [k], f'headers = {{"PRIVATE-TOKEN": "{k}"}}\n'


def _slack_bot(r: random.Random) -> tuple[list[str], str]:
    k = f"xoxb-{rnd(r, string.digits, 12)}-{rnd(r, string.digits, 13)}-{rnd(r, ALNUM, 24)}"
    return [k], f"SLACK_BOT_TOKEN: {k}\n"


def _slack_webhook(r: random.Random) -> tuple[list[str], str]:
    tail = f"T{rnd(r, UPPER_B32, 8)}/B{rnd(r, UPPER_B32, 10)}/{rnd(r, ALNUM, 24)}"
    return [tail], f'requests.post("https://hooks.slack.com/services/{tail}", json=msg)\n'


def _stripe(r: random.Random) -> tuple[list[str], str]:
    k = "sk_live_" + rnd(r, ALNUM, r.choice([24, 99]))
    return [k], f"stripe.api_key = '{k}'\n"


def _google(r: random.Random) -> tuple[list[str], str]:
    k = "AIza" + rnd(r, ALNUM + "-_", 35)
    return [k], f"const firebaseConfig = {{ apiKey: \"{k}\", projectId: \"demo\" }};\n"


def _openai(r: random.Random) -> tuple[list[str], str]:
    if r.random() < 0.5:
        k = "sk-" + rnd(r, ALNUM, 20) + "T3BlbkFJ" + rnd(r, ALNUM, 20)
    else:
        k = "sk-proj-" + rnd(r, B64URL, 74) + "T3BlbkFJ" + rnd(r, B64URL, 74)
    return [k], f'client = OpenAI(api_key="{k}")\n'


def _anthropic(r: random.Random) -> tuple[list[str], str]:
    k = "sk-ant-api03-" + rnd(r, B64URL, 93) + "AA"
    return [k], f"ANTHROPIC_API_KEY={k}\n"


def _huggingface(r: random.Random) -> tuple[list[str], str]:
    k = "hf_" + rnd(r, string.ascii_letters, 34)
    return [k], f"huggingface-cli login --token {k}\n"


def _npm(r: random.Random) -> tuple[list[str], str]:
    k = "npm_" + rnd(r, ALNUM, 36)
    return [k], f"//registry.npmjs.org/:_authToken={k}\n"


def _pypi(r: random.Random) -> tuple[list[str], str]:
    k = "pypi-AgEIcHlwaS5vcmc" + rnd(r, B64URL, 140)
    return [k], f"[pypi]\n  username = __token__\n  password = {k}\n"


def _sendgrid(r: random.Random) -> tuple[list[str], str]:
    k = "SG." + rnd(r, B64URL, 22) + "." + rnd(r, B64URL, 43)
    return [k], f"sg = SendGridAPIClient('{k}')\n"


def _twilio(r: random.Random) -> tuple[list[str], str]:
    sid = "AC" + rnd(r, HEX, 32)
    key = "SK" + rnd(r, HEX, 32)
    return [sid, key], f"client = Client('{key}', secret, '{sid}')\n"


def _mailchimp(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, HEX, 32) + "-us" + str(r.randint(1, 20))
    return [k], f"mailchimp.set_config({{'api_key': '{k}', 'server': 'us6'}})\n"


def _jwt(r: random.Random) -> tuple[list[str], str]:
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = b64url(json.dumps({"sub": rnd(r, string.digits, 10), "name": "Jane",
                                "iat": r.randint(10**9, 2 * 10**9)}).encode())
    k = f"{header}.{claims}.{b64url(r.randbytes(32))}"
    return [k], f"curl -H 'Cookie: session={k}' https://api.internal/v1/me\n"


def _rsa_pem(r: random.Random) -> tuple[list[str], str]:
    body = pem_body(r, 25)
    return [*body.split("\n")], (
        f"key = '''-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----'''\n"
    )


def _openssh(r: random.Random) -> tuple[list[str], str]:
    body = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ" + pem_body(r, 6)
    return [*body.split("\n")[1:]], (
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"
    )


def _gcp_json(r: random.Random) -> tuple[list[str], str]:
    body = pem_body(r, 20)
    escaped = body.replace("\n", "\\n")
    doc = ('{\n  "type": "service_account",\n  "project_id": "acme-prod",\n'
           f'  "private_key_id": "{rnd(r, HEX, 40)}",\n'
           f'  "private_key": "-----BEGIN PRIVATE KEY-----\\n{escaped}\\n-----END PRIVATE KEY-----\\n",\n'
           '  "client_email": "svc@acme-prod.iam.gserviceaccount.com"\n}\n')
    return [*body.split("\n")], doc


def _pg_url(r: random.Random) -> tuple[list[str], str]:
    pw = rnd(r, ALNUM + "!*~", 16)
    return [pw], f'DATABASE_URL = "postgresql://app:{pw}@db.acme.internal:5432/orders"\n'


def _env_password(r: random.Random) -> tuple[list[str], str]:
    pw = rnd(r, ALNUM, 8) + r.choice(["!", "#1", "$x", "2024"])
    return [pw], f"DB_HOST=db\nDB_USER=orders\nDB_PASSWORD={pw}\n"


def _yaml_password(r: random.Random) -> tuple[list[str], str]:
    pw = r.choice(["Winter", "Summer", "Acme", "Orders"]) + str(r.randint(1000, 9999)) + "!"
    return [pw], f"database:\n  user: orders\n  password: {pw}\n  host: db\n"


def _odbc(r: random.Random) -> tuple[list[str], str]:
    pw = rnd(r, ALNUM, 14)
    return [pw], (f'conn = pyodbc.connect("Driver={{ODBC Driver 18}};Server=tcp:sql.acme.net;'
                  f'Database=crm;Uid=crm_app;Pwd={pw};Encrypt=yes")\n')


def _azure_storage(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, B64, 86) + "=="
    return [k], ("DefaultEndpointsProtocol=https;AccountName=acmeprod;"
                 f"AccountKey={k};EndpointSuffix=core.windows.net\n")


def _discord(r: random.Random) -> tuple[list[str], str]:
    k = "M" + rnd(r, ALNUM, 23) + "." + rnd(r, B64URL, 6) + "." + rnd(r, B64URL, 27)
    return [k], f"bot.run('{k}')\n"


def _telegram(r: random.Random) -> tuple[list[str], str]:
    k = f"{r.randint(10**8, 10**9)}:AA{rnd(r, B64URL, 33)}"
    return [k], f"TELEGRAM_BOT_TOKEN = \"{k}\"\n"


def _digitalocean(r: random.Random) -> tuple[list[str], str]:
    k = "dop_v1_" + rnd(r, HEX, 64)
    return [k], f"doctl auth init --access-token {k}\n"


def _age(r: random.Random) -> tuple[list[str], str]:
    k = "AGE-SECRET-KEY-1" + rnd(r, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58)
    return [k], f"# created: 2024-01-01\n# public key: age1...\n{k}\n"


def _generic_api_key(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, ALNUM, 32)
    return [k], f'WEATHER_API_KEY = "{k}"\n'


def _bearer(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, ALNUM + "-._~", 40)
    return [k], f"curl -H \"Authorization: Bearer {k}\" https://api.acme.io/v2/orders\n"


def _basic_header(r: random.Random) -> tuple[list[str], str]:
    k = base64.b64encode(f"admin:{rnd(r, ALNUM, 12)}".encode()).decode()
    return [k], f"Authorization: Basic {k}\n"


def _password_literal(r: random.Random) -> tuple[list[str], str]:
    pw = r.choice(["hunter2", "correcthorse", "letmein!", "S3cure#pass"]) + str(r.randint(0, 99))
    return [pw], f'login(user="admin", password="{pw}")\n'


def _cli_flag(r: random.Random) -> tuple[list[str], str]:
    pw = rnd(r, ALNUM, 12)
    return [pw], f"mysql -h db -u root --password={pw} orders < dump.sql\n"


def _shopify(r: random.Random) -> tuple[list[str], str]:
    k = "shpat_" + rnd(r, HEX, 32)
    return [k], f"SHOPIFY_ACCESS_TOKEN={k}\n"


def _databricks(r: random.Random) -> tuple[list[str], str]:
    k = "dapi" + rnd(r, HEX, 32)
    return [k], f"token: {k}\n"


def _square(r: random.Random) -> tuple[list[str], str]:
    k = "sq0csp-" + rnd(r, B64URL, 43)
    return [k], f"SQUARE_SECRET={k}\n"


def _hex_secret(r: random.Random) -> tuple[list[str], str]:
    k = rnd(r, HEX, 64)
    return [k], f"SECRET_KEY = '{k}'\n"


# -- families that need their own formats: each generator picks one of the documented
# forms at random, with a fresh random body every time --------------------------------------
SYMBOLS = "!#%*+-._~@^"


def password(r: random.Random) -> str:
    """A password as people pick them: random, with symbols, or word + digits + symbol."""
    form = r.randrange(4)
    if form == 0:
        return rnd(r, ALNUM, r.randint(10, 24))
    if form == 1:
        return rnd(r, ALNUM, r.randint(6, 12)) + r.choice(SYMBOLS) + rnd(r, ALNUM, r.randint(2, 6))
    if form == 2:
        word = r.choice(["Winter", "Falcon", "orange", "Maple", "river", "Quartz", "tiger"])
        return word + str(r.randint(10, 9999)) + r.choice(SYMBOLS)
    return rnd(r, string.ascii_lowercase, r.randint(5, 8)) + str(r.randint(100, 99999))


def _urlenc(data: bytes) -> str:
    from urllib.parse import quote

    return quote(base64.b64encode(data).decode(), safe="")


def _azure_sas(r: random.Random) -> tuple[list[str], str]:
    sig = _urlenc(r.randbytes(32))
    acct = rnd(r, string.ascii_lowercase, 10)
    token = (f"sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2025-0{r.randint(1, 9)}-01T00:00:00Z"
             f"&st=2024-01-01T00:00:00Z&spr=https&sig={sig}")
    form = r.randrange(3)
    if form == 0:
        return [sig], f'url = "https://{acct}.blob.core.windows.net/backups/db.bak?{token}"\n'
    if form == 1:
        return [sig], f"AZURE_STORAGE_SAS_TOKEN='?{token}'\n"
    return [sig], (f"BlobEndpoint=https://{acct}.blob.core.windows.net/;"
                   f"SharedAccessSignature={token}\n")


def _presigned(r: random.Random) -> tuple[list[str], str]:
    sig = rnd(r, HEX, 64)
    tok = _urlenc(r.randbytes(r.randint(300, 600)))
    return [sig, tok], (
        f"https://bucket.s3.eu-west-1.amazonaws.com/report.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Date=20240101T000000Z&X-Amz-Expires=3600&X-Amz-Security-Token={tok}"
        f"&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}\n")


def _vault(r: random.Random) -> tuple[list[str], str]:
    form = r.randrange(5)
    if form == 4:
        k = "s." + rnd(r, ALNUM, 24)
        return [k], f"export VAULT_TOKEN={k}\n"
    k = r.choice(["hvs.", "hvs.", "hvb."]) + "CAES" + rnd(r, B64URL, r.randint(86, 120))
    return [k], [f"vault login {k}\n", f"export VAULT_TOKEN={k}\n",
                 f"curl -H 'X-Vault-Token: {k}' https://vault.acme.io:8200/v1/secret/data/app\n",
                 f'provider "vault" {{\n  token = "{k}"\n}}\n'][form]


def _redis(r: random.Random) -> tuple[list[str], str]:
    pw = password(r).replace("@", "x").replace("%", "x")
    return [pw], r.choice([
        f"REDIS_URL=redis://:{pw}@cache.internal:6379/0\n",
        f'broker_url = "rediss://default:{pw}@redis.acme.io:6380/1"\n',
        f"# redis.conf\nbind 127.0.0.1\nrequirepass {pw}\n",
        f"masterauth {pw}\nreplicaof 10.0.0.5 6379\n",
        f"redis-cli -h cache.internal -p 6379 -a {pw} --no-auth-warning ping\n",
        f'CONFIG SET requirepass "{pw}"\n',
        f"REDISCLI_AUTH={pw} redis-cli -h cache info\n",
    ])


def _password_flags(r: random.Random) -> tuple[list[str], str]:
    pw = password(r)
    return [pw], r.choice([
        f"sshpass -p {pw} ssh deploy@build.acme.io 'systemctl restart app'\n",
        f"sshpass -p '{pw}' scp dump.sql backup@db:/srv/\n",
        f"docker login -u ci-bot -p {pw} registry.acme.io\n",
        f"podman login --username ci -p {pw} quay.io\n",
        f"keytool -importkeystore -srckeystore app.p12 -srcstoretype PKCS12 -destkeystore app.jks "
        f"-deststorepass {pw} -srcstorepass {pw}\n",
        f"keytool -genkey -alias app -keystore app.jks -storepass {pw} -keypass {pw}\n",
        f"jarsigner -keystore release.jks -storepass {pw} app.apk release\n",
        f"mysql -h db.internal -u root -p{pw} orders < dump.sql\n",
        f"mysqldump -uroot -p{pw} --all-databases > all.sql\n",
        f"openssl pkcs12 -export -in cert.pem -inkey key.pem -passout pass:{pw} -out bundle.p12\n",
        f"curl -u admin:{pw} https://jenkins.acme.io/api/json\n",
        f"smbclient //fs01/share -U alice%{pw} -c 'ls'\n",
        f"ldapsearch -x -H ldap://dc01 -D 'cn=admin,dc=acme,dc=io' -w {pw} '(uid=bob)'\n",
        f"sqlcmd -S sql01 -U sa -P {pw} -Q 'SELECT 1'\n",
        f"wget --user=deploy --password={pw} https://files.acme.io/build.tgz\n",
        f"net use Z: \\\\fs01\\projects {pw} /user:ACME\\alice /persistent:yes\n",
        f"net use \\\\fs01\\ipc$ /user:administrator {pw}\n",
        f"mongosh mongodb://db01:27017 -u admin -p {pw} --authenticationDatabase admin\n",
        f"plink -ssh admin@10.1.2.3 -pw {pw} uptime\n",
        f"az login --service-principal -u app-id -p {pw} --tenant acme.onmicrosoft.com\n",
        f"helm registry login registry.acme.io --username bot --password {pw}\n",
    ])


def _config_password(r: random.Random) -> tuple[list[str], str]:
    pw = password(r).replace("<", "x").replace("&", "x")
    host = rnd(r, string.ascii_lowercase, 6)
    return [pw], r.choice([
        f"machine api.{host}.io\n  login deploy\n  password {pw}\n",
        f"machine {host}.acme.io login bob password {pw}\n",
        f"<server>\n  <id>nexus</id>\n  <username>ci</username>\n  <password>{pw}</password>\n</server>\n",
        f"<connection><user>app</user><dbPassword>{pw}</dbPassword></connection>\n",
        f"spring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.password={pw}\n",
        f"quarkus.datasource.password={pw}\n",
        f"PGPASSWORD={pw} psql -h db.internal -U app -d orders -c 'select 1'\n",
        f"export PGPASSWORD='{pw}'\n",
        f"db.{host}.internal:5432:orders:app:{pw}\n",
        f"*:*:*:replicator:{pw}\n",
        f'<add key="DbPassword" value="{pw}" />\n',
        f"MYSQL_PWD={pw} mysql -h db -u app\n",
    ])


def _docker_auths(r: random.Random) -> tuple[list[str], str]:
    auth = base64.b64encode(f"ci-bot:{password(r)}".encode()).decode()
    ident = rnd(r, B64URL, r.randint(40, 120))
    form = r.randrange(2)
    if form == 0:
        return [auth], ('{\n  "auths": {\n    "registry.acme.io": {\n      "auth": "' + auth
                        + '"\n    }\n  }\n}\n')
    return [ident], ('{"auths": {"https://index.docker.io/v1/": {"identitytoken": "' + ident
                     + '"}}}\n')


def _long_session(r: random.Random) -> tuple[list[str], str]:
    tok = "IQoJb3JpZ2luX2Vj" + rnd(r, B64, r.randint(600, 1200)) + "=="
    return [tok], r.choice([
        f"[default]\naws_session_token = {tok}\n",
        f"export AWS_SESSION_TOKEN={tok}\n",
        '{"Credentials": {"SessionToken": "' + tok + '", "Expiration": "2024-01-01T00:00:00Z"}}\n',
        f"AWS_SESSION_TOKEN='{tok}' aws s3 ls\n",
    ])


def _session_cookie(r: random.Random) -> tuple[list[str], str]:
    v = rnd(r, ALNUM, r.randint(26, 64))
    name = r.choice(["sessionid", "PHPSESSID", "JSESSIONID", "connect.sid", "_app_session"])
    return [v], f"curl -b '{name}={v}' https://app.acme.io/account\n"


def _deploy_env(r: random.Random) -> tuple[list[str], str]:
    pw = password(r).replace('"', "x")
    name = r.choice(["DB_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_ROOT_PASSWORD", "API_TOKEN",
                     "ADMIN_SECRET"])
    if "TOKEN" in name or "SECRET" in name:
        pw = rnd(r, ALNUM, r.randint(24, 48))
    return [pw], r.choice([
        f"docker run -d -e {name}={pw} -p 5432:5432 postgres:16\n",
        f'docker run -e "{name}={pw}" app:latest\n',
        f"env:\n  - name: {name}\n    value: \"{pw}\"\n",
        '{"name": "' + name + '", "value": "' + pw + '"}\n',
        f'environment:\n  - "{name}={pw}"\n',
        f'variable "{name.lower()}" {{\n  type      = string\n  sensitive = true\n'
        f'  default   = "{pw}"\n}}\n',
    ])


def _password_hash(r: random.Random) -> tuple[list[str], str]:
    crypt64 = string.ascii_letters + string.digits + "./"
    h = r.choice([
        "$2b$12$" + rnd(r, crypt64, 53),
        "$apr1$" + rnd(r, crypt64, 8) + "$" + rnd(r, crypt64, 22),
        "$6$" + rnd(r, crypt64, 16) + "$" + rnd(r, crypt64, 86),
        "$argon2id$v=19$m=65536,t=3,p=4$" + rnd(r, B64, 22) + "$" + rnd(r, B64, 43),
    ])
    tail = h.rsplit("$", 1)[1]
    return [tail], r.choice([f"admin:{h}\n", f"PASSWORD_HASH = '{h}'\n",
                             f"deploy:{h}:19000:0:99999:7:::\n"])


def _env_prefix(r: random.Random) -> tuple[list[str], str]:
    name, value = r.choice([
        ("GITHUB_TOKEN", "ghp_" + rnd(r, ALNUM, 36)),
        ("API_KEY", rnd(r, ALNUM, 32)),
        ("DB_PASSWORD", password(r)),
        ("AWS_SECRET_ACCESS_KEY", rnd(r, B64, 40)),
        ("SLACK_TOKEN", rnd(r, ALNUM, 30)),
        ("ADMIN_PASS", password(r)),
    ])
    cmd = r.choice(["python manage.py migrate", "./deploy.sh prod", "npm run release",
                    "gh release create v1.2.0", "aws s3 sync dist s3://bucket"])
    return [value], f"{name}={value} {cmd}\n"


KINDS: dict[str, Gen] = {
    "aws-access-key-id": _aws_id,
    "aws-credentials-file": _aws_secret,
    "github-classic-pat": _github_classic,
    "github-fine-grained-pat": _github_fine,
    "gitlab-pat": _gitlab,
    "slack-bot-token": _slack_bot,
    "slack-webhook": _slack_webhook,
    "stripe-secret-key": _stripe,
    "google-api-key": _google,
    "openai-key": _openai,
    "anthropic-key": _anthropic,
    "huggingface-token": _huggingface,
    "npm-token": _npm,
    "pypi-token": _pypi,
    "sendgrid-key": _sendgrid,
    "twilio-sid-and-key": _twilio,
    "mailchimp-key": _mailchimp,
    "jwt": _jwt,
    "rsa-private-key-pem": _rsa_pem,
    "openssh-private-key": _openssh,
    "gcp-service-account-json": _gcp_json,
    "postgres-url-password": _pg_url,
    "dotenv-password": _env_password,
    "yaml-password": _yaml_password,
    "odbc-connection-string": _odbc,
    "azure-storage-connection-string": _azure_storage,
    "discord-bot-token": _discord,
    "telegram-bot-token": _telegram,
    "digitalocean-token": _digitalocean,
    "age-secret-key": _age,
    "generic-api-key-literal": _generic_api_key,
    "bearer-token-header": _bearer,
    "basic-auth-header": _basic_header,
    "password-keyword-argument": _password_literal,
    "password-cli-flag": _cli_flag,
    "shopify-token": _shopify,
    "databricks-token": _databricks,
    "square-oauth-secret": _square,
    "hex-secret-key": _hex_secret,
    "azure-sas-signature": _azure_sas,
    "presigned-url": _presigned,
    "vault-token": _vault,
    "redis-credentials": _redis,
    "password-cli-flags": _password_flags,
    "password-config-forms": _config_password,
    "docker-config-auths": _docker_auths,
    "long-session-token": _long_session,
    "session-cookie": _session_cookie,
    "var-secret-command": _env_prefix,
    "deploy-env-password": _deploy_env,
    "password-hash": _password_hash,
}

# -- near misses: not secrets, in the forms the rules above must not take for one ---------
NearMiss = Callable[[random.Random], str]


def _nm_version(r: random.Random) -> str:
    v = ".".join(str(r.randint(0, 40)) for _ in range(3)) + "." + str(r.randint(0, 9999))
    return r.choice([f'__version__ = "{v}"\n', f"<AssemblyVersion>{v}</AssemblyVersion>\n",
                     f'[assembly: AssemblyFileVersion("{v}")]\n', f"version: {v}\n",
                     f"FileVersion {v}\n", f"ProductVersion = {v}\n"])


def _nm_oid(r: random.Random) -> str:
    oid = f"{r.randint(0, 2)}.{r.randint(1, 40)}.{r.randint(1, 99)}.{r.randint(1, 99)}"
    return r.choice([f'OID "{oid}"\n', f"x509.ObjectIdentifier('{oid}')\n",
                     f'{{"{oid}": "commonName"}}\n', f"oid = {oid}\n"])


def _nm_integrity(r: random.Random) -> str:
    alg, n = r.choice([("sha512", 64), ("sha384", 48), ("sha256", 32), ("sha1", 20)])
    h = f"{alg}-" + base64.b64encode(r.randbytes(n)).decode()
    return r.choice([f'      "integrity": "{h}",\n',
                     f'<script src="app.js" integrity="{h}" crossorigin="anonymous"></script>\n',
                     f'narHash = "{h}";\n', f'"narHash": "{h}",\n',
                     f"  integrity {h}\n", f"    resolution: {{integrity: {h}}}\n"])


def _nm_public_key(r: random.Random) -> str:
    n = b64url(r.randbytes(256))
    blob = "AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + base64.b64encode(r.randbytes(256)).decode()
    spki = ("MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
            + base64.b64encode(r.randbytes(256)).decode())
    return r.choice([
        '{"keys": [{"kty": "RSA", "kid": "' + rnd(r, B64URL, 43) + '", "use": "sig", "n": "'
        + n + '", "e": "AQAB"}]}\n',
        f'authorized_key = "{blob}"\n',
        f'PUBLIC_KEY = "{spki}"\n',
        '{"crv": "P-256", "x": "' + b64url(r.randbytes(32)) + '", "y": "'
        + b64url(r.randbytes(32)) + '"}\n',
    ])


def _nm_link_local(r: random.Random) -> str:
    return r.choice(["curl http://169.254.169.254/latest/meta-data/iam/\n",
                     "METADATA_URL = 'http://169.254.169.254/computeMetadata/v1/'\n",
                     f"link-local: 169.254.{r.randint(0, 255)}.{r.randint(1, 254)}\n"])


def _nm_password_refs(r: random.Random) -> str:
    return r.choice([
        "docker login -u bot --password-stdin registry.acme.io < token.txt\n",
        "openssl pkcs12 -export -passout env:P12_PASS -out a.p12\n",
        "openssl rsa -in key.pem -passin file:/run/secrets/pass\n",
        "password_file = '/etc/app/password'\n", "token_type = 'bearer'\n",
        "self.password = password\n", "if not password:\n    raise ValueError('password')\n",
        "mysql -u root -p orders\n", "git commit --no-verify --bypass-hooks x\n",
        "PASSWORD_MIN_LENGTH=12 ./configure\n", "sig = inspect.signature(func)\n",
        "session = requests.Session()\n", "net use Z: \\\\fs01\\projects /persistent:yes\n",
        "redis-cli -h cache -p 6379 ping\n", "KEY_FILE=/etc/ssl/key.pem ./serve\n",
        "requirepass ${REDIS_PASSWORD}\n", "<password>${env.NEXUS_PASSWORD}</password>\n",
        "spring.datasource.password=${DB_PASSWORD}\n", "12:30:45:120:done\n",
        "machine learning model with password protection\n",
    ])


NEAR_MISSES: dict[str, NearMiss] = {
    "four-part version": _nm_version,
    "oid": _nm_oid,
    "integrity hash": _nm_integrity,
    "public key / jwks": _nm_public_key,
    "link-local metadata": _nm_link_local,
    "password references, not values": _nm_password_refs,
}


def near_miss_fp(per_kind: int, seed: int) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Per kind: snippets where anything at all was redacted (a secret, an IP or email)."""
    rng = random.Random(seed)
    out: dict[str, tuple[int, int]] = {}
    shown: list[str] = []
    for name, gen in NEAR_MISSES.items():
        fp = 0
        for _ in range(per_kind):
            text = gen(rng)
            found = find(text)
            if found:
                fp += 1
                if len(shown) < 20:
                    shown.append(f"{name}: {found[0][0]} in {text.strip()[:100]!r}")
        out[name] = (fp, per_kind)
    return out, shown

FILLER = (
    "def handler(event, context):\n    items = load(event['items'])\n    return len(items)\n",
    "for i, row in enumerate(rows):\n    total += row.amount  # running sum\n",
    "logger.info('processed %d orders in %.2fs', n, elapsed)\n",
)


def leaked(secret: str, text: str) -> bool:
    """Any 8-character piece of the secret still in the text counts as a leak."""
    if len(secret) < 8:
        return secret in text
    return any(secret[i : i + 8] in text for i in range(0, len(secret) - 7))


def recall(per_kind: int, seed: int) -> tuple[dict[str, tuple[int, int]], list[str]]:
    rng = random.Random(seed)
    results: dict[str, tuple[int, int]] = {}
    misses: list[str] = []
    for name, gen in KINDS.items():
        caught = 0
        for _ in range(per_kind):
            secrets, snippet = gen(rng)
            text = rng.choice(FILLER) + snippet + rng.choice(FILLER)
            out = redact(text).text
            secrets = [s for s in secrets if len(s) >= 4]
            if not any(leaked(s, out) for s in secrets):
                caught += 1
            elif len(misses) < 40:
                misses.append(f"{name}: {out.strip()[:160]!r}")
        results[name] = (caught, per_kind)
    return results, misses


def pii_recall(seed: int) -> dict[str, tuple[int, int]]:
    rng = random.Random(seed)
    emails = [f"{rnd(rng, string.ascii_lowercase, 6)}.{rnd(rng, string.ascii_lowercase, 5)}@"
              f"{rng.choice(['acme.io', 'corp.com', 'mail.de', 'uni.edu', 'startup.ai'])}"
              for _ in range(50)]
    ips = [f"{rng.choice([10, 172, 192, 34, 52, 81])}.{rng.randint(0, 255)}."
           f"{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(40)]
    ips += [f"2a01:4f8:{rng.randint(1, 0xffff):x}:{rng.randint(1, 0xffff):x}::{rng.randint(1, 0xfff):x}"
            for _ in range(10)]
    out: dict[str, tuple[int, int]] = {}
    for name, values, tpl in (
        ("email", emails, "# Maintainer: Jane <{}>\ncontact = '{}'\n"),
        ("ip", ips, "server {{ listen {}:443; }}\nALLOWED = ['{}']\n"),
    ):
        caught = sum(1 for v in values if v not in redact(tpl.format(v, v)).text)
        out[name] = (caught, len(values))
    return out


def stdlib_files(root: Path) -> list[Path]:
    skip = {"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"}
    return sorted(p for p in root.rglob("*.py") if not skip.intersection(p.relative_to(root).parts))


def false_positives(root: Path, show: int) -> None:
    files = stdlib_files(root)
    secret_kinds: Counter[str] = Counter()
    pii: Counter[str] = Counter()
    examples: list[str] = []
    total = 0
    lines = 0
    per_mb: list[float] = []
    t0 = time.perf_counter()
    for path in files:
        text = path.read_text("utf-8", errors="replace")
        total += len(text.encode("utf-8", "replace"))
        lines += text.count("\n")
        t = time.perf_counter()
        found = find(text)
        dt = time.perf_counter() - t
        if len(text) > 50_000:
            per_mb.append(dt / (len(text) / 1e6))
        for kind, category, start, end in found:
            if category == "secret":
                secret_kinds[kind] += 1
                if len(examples) < show:
                    line = text.count("\n", 0, start) + 1
                    examples.append(f"{path.relative_to(root)}:{line}: {kind}: {text[start:end][:60]!r}")
            else:
                pii[kind] += 1
    elapsed = time.perf_counter() - t0
    mb = total / 1e6
    n_fp = sum(secret_kinds.values())
    print(f"\nfalse positives on ordinary code: {root} ({len(files)} files, {mb:.1f} MB, "
          f"{lines:,} lines, test suites excluded)")
    print(f"  secret findings (all false positives): {n_fp}  = {n_fp / mb:.2f} per MB, "
          f"{n_fp / lines * 1000:.3f} per 1000 lines")
    for kind, n in secret_kinds.most_common():
        print(f"    {kind:<22} {n}")
    print(f"  email/IP findings (real addresses in ordinary code, not secrets): "
          f"{dict(pii.most_common())}")
    print(f"  throughput: {mb / elapsed:.2f} MB/s overall; median {statistics.median(per_mb):.3f} "
          f"s/MB on files over 50 kB")
    for ex in examples:
        print("   ", ex)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stdlib", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    ap.add_argument("--per-kind", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=20, help="print this many false positives")
    ap.add_argument("--no-stdlib", action="store_true")
    args = ap.parse_args()

    t = time.perf_counter()
    redact("warm up the rule table")
    print(f"rule table built in {time.perf_counter() - t:.2f} s (detect-secrets import included)")
    results, misses = recall(args.per_kind, args.seed)
    caught = sum(c for c, _ in results.values())
    total = sum(n for _, n in results.values())
    print(f"\nrecall on {len(results)} kinds of secret x {args.per_kind} "
          f"(caught = no 8-char piece left): {caught}/{total} = {caught / total:.1%}")
    for name, (c, n) in results.items():
        flag = "" if c == n else "   <-- missed some"
        print(f"    {name:<34} {c:>3}/{n}{flag}")
    for m in misses:
        print("    miss:", m)
    for name, (c, n) in pii_recall(args.seed).items():
        print(f"  {name} recall: {c}/{n}")
    nm, shown = near_miss_fp(args.per_kind, args.seed + 1)
    fp = sum(c for c, _ in nm.values())
    total_nm = sum(n for _, n in nm.values())
    print(f"\nfalse positives on near misses (anything redacted in a snippet with no secret): "
          f"{fp}/{total_nm} = {fp / total_nm:.1%}")
    for name, (c, n) in nm.items():
        print(f"    {name:<34} {c:>3}/{n}")
    for line in shown:
        print("    fp:", line)

    big = "\n".join(FILLER * 20000) + "\npassword = 'hunter2-at-the-end'\n"
    t = time.perf_counter()
    r = redact(big)
    dt = time.perf_counter() - t
    print(f"\nprompt of {len(big) / 1e6:.1f} MB: redacted in {dt:.2f} s, "
          f"{len(r.findings)} finding(s) ({', '.join(f.kind for f in r.findings)})")
    history_latency()
    if not args.no_stdlib:
        false_positives(args.stdlib, args.show)
    return 0


def history_latency(n: int = 300) -> None:
    """What `history.record()` costs a completion: redact + insert of a ~2 kB prompt."""
    import tempfile

    from server.history import Entry, FileRange, record

    prompt = (FILLER[0] * 12)[:2000]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "history.sqlite3"
        record(Entry(kind="completion", prompt="warm up"), db)
        times = []
        for i in range(n):
            t = time.perf_counter()
            record(Entry(kind="completion", prompt=f"{i} {prompt}", response="return x",
                         files=[FileRange("a.py", 1, 40)], outcome="shown"), db)
            times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"\nhistory.record() of a 2 kB completion prompt, {n} runs: "
          f"median {statistics.median(times):.2f} ms, p99 {times[int(n * 0.99) - 1]:.2f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
