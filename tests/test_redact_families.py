"""Secret families by their documented formats and by context, and the near misses that
must stay: a table each.  Secrets are assembled from pieces at run time so this file
itself holds none that a scanner would flag as real.
"""

from __future__ import annotations

import base64

import pytest

from server.redact import find, redact
from server.redact.rules import is_public_material, names_password

PW = "Xk29" + "dkslq09"  # a password-like value
B64_32 = base64.b64encode(bytes(range(7, 39))).decode()
SIG = B64_32.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
HVS = "hvs." + "CAESIJlWh0PAaj2X3hNNUt0sZ3nTj5kRqRqgZXbQ0JDmfKZyGh4KHGh2cy5WT1JxSDBx"
LONG = "IQoJb3JpZ2luX2Vj" + "aB3dE5fG7hI9jK1l" * 60
A40 = "aB3dE5fG7hI9jK1lM3nO" + "5pQ7rS9tU1vW3xY5zA7b"

# (family, text, secret that must disappear, kind)
CAUGHT = [
    ("azure sas url", f"https://a.blob.core.windows.net/c/f?sv=2022-11-02&sp=r&sig={SIG}",
     SIG, "SIGNED_URL"),
    ("azure sas connection string",
     f"BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=sv=2022&sig={SIG}",
     SIG, "SIGNED_URL"),
    ("azure service bus key", f"Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=r;"
     f"SharedAccessKey={B64_32}", B64_32, "AZURE_KEY"),
    ("s3 presigned", "?X-Amz-Signature=" + "0a1b2c3d" * 8, "0a1b2c3d" * 8, "SIGNED_URL"),
    ("vault login", f"vault login {HVS}", HVS, "VAULT_TOKEN"),
    ("vault env", f"export VAULT_TOKEN={HVS}", HVS, "VAULT_TOKEN"),
    ("vault legacy", "VAULT_TOKEN=s." + "aB3dE5fG7hI9jK1lM3nO5pQ7", "aB3dE5fG7hI9", "VAULT_TOKEN"),
    ("redis url, empty user", f"redis://:{PW}@cache:6379/0", PW, "URL_PASSWORD"),
    ("redis.conf", f"bind 0.0.0.0\nrequirepass {PW}\n", PW, "PASSWORD"),
    ("redis masterauth", f"masterauth {PW}", PW, "PASSWORD"),
    ("redis-cli -a", f"redis-cli -h cache -a {PW} ping", PW, "PASSWORD"),
    ("sshpass", f"sshpass -p {PW} ssh deploy@host", PW, "PASSWORD"),
    ("sshpass quoted", f"sshpass -p 'a b {PW}' ssh host", PW, "PASSWORD"),
    ("docker login", f"docker login -u bot -p {PW} registry.io", PW, "PASSWORD"),
    ("keytool", f"keytool -list -keystore k.jks -storepass {PW}", PW, "PASSWORD"),
    ("mysql -p attached", f"mysql -u root -p{PW} db", PW, "PASSWORD"),
    ("openssl pass:", f"openssl pkcs12 -export -passout pass:{PW} -out a.p12", PW, "PASSWORD"),
    ("curl -u", f"curl -u admin:{PW} https://ci/api", PW, "PASSWORD"),
    ("smbclient", f"smbclient //fs/share -U alice%{PW}", PW, "PASSWORD"),
    ("ldapsearch -w", f"ldapsearch -x -D cn=admin -w {PW} '(uid=bob)'", PW, "PASSWORD"),
    ("sqlcmd -P", f"sqlcmd -S sql01 -U sa -P {PW}", PW, "PASSWORD"),
    ("prefixed long flag", f"wget --http-password={PW} https://x/f", PW, "PASSWORD"),
    ("net use", f"net use Z: \\\\fs01\\share {PW} /user:ACME\\bob", PW, "PASSWORD"),
    ("net use, user first", f"net use \\\\fs01\\ipc$ /user:admin {PW}", PW, "PASSWORD"),
    ("netrc one line", f"machine api.acme.io login bob password {PW}", PW, "PASSWORD"),
    ("netrc lines", f"machine api.acme.io\n  login bob\n  password {PW}\n", PW, "PASSWORD"),
    ("xml element", f"<server><password>{PW}</password></server>", PW, "PASSWORD"),
    ("xml element with attributes", f'<dbPassword enc="none">{PW}</dbPassword>', PW, "PASSWORD"),
    (".NET appSettings", f'<add key="DbPassword" value="{PW}" />', PW, "PASSWORD"),
    ("spring properties", f"spring.datasource.password={PW}", PW, "PASSWORD"),
    ("PGPASSWORD prefix", f"PGPASSWORD={PW} psql -h db -U app", PW, "PASSWORD"),
    (".pgpass", f"db.acme.internal:5432:orders:app:{PW}", PW, "PASSWORD"),
    (".pgpass wildcard", f"*:*:*:replicator:{PW}", PW, "PASSWORD"),
    ("docker config auths", '{"auths": {"r.io": {"auth": "' + base64.b64encode(
        f"bot:{PW}".encode()).decode() + '"}}}', base64.b64encode(f"bot:{PW}".encode()).decode(),
     "SECRET"),
    ("docker identitytoken", '{"identitytoken": "' + A40 + '"}', A40, "SECRET"),
    ("long session token", f"aws_session_token = {LONG}", LONG, "SECRET"),
    ("long session token json", '{"SessionToken": "' + LONG + '"}', LONG, "SECRET"),
    ("VAR=secret command", f"API_KEY={A40} python app.py", A40, "SECRET"),
    ("VAR=password command", f"DB_PASSWORD={PW} ./run.sh", PW, "PASSWORD"),
    ("session cookie", f"curl -b 'sessionid={A40}' https://app", A40, "SESSION"),
    ("docker -e quoted", f'docker run -e "POSTGRES_PASSWORD={PW}" postgres', PW, "PASSWORD"),
    ("kubernetes env", f'env:\n  - name: DB_PASSWORD\n    value: "{PW}"', PW, "PASSWORD"),
    ("ecs name/value", '{"name": "API_TOKEN", "value": "' + A40 + '"}', A40, "SECRET"),
    ("terraform default", f'variable "db_password" {{\n  type = string\n  default = "{PW}"\n}}',
     PW, "PASSWORD"),
    ("htpasswd apr1", "admin:$apr1$abcdefgh$" + "0123456789abcdefghijkl",
     "0123456789abcdefghijkl", "PASSWORD_HASH"),
    ("bcrypt", "hash = '$2b$12$" + "aB3dE5fG7hI9jK1lM3nO5u" * 2 + "aB3dE5fG7'",
     "aB3dE5fG7hI9jK1lM3nO5u", "PASSWORD_HASH"),
    ("redis-server flag", f"redis-server --requirepass {PW}", PW, "PASSWORD"),
    ("libpq conninfo", f'psql "host=db port=5432 user=app password={PW} dbname=x"', PW,
     "PASSWORD"),
    ("vault write k=v", f"vault write auth/userpass/users/bob password={PW} policies=a", PW,
     "PASSWORD"),
    ("ansible -e", f'ansible-playbook site.yml -e "ansible_become_password={PW}"', PW,
     "PASSWORD"),
    ("piped to --password-stdin", f'echo "{PW}" | docker login -u bot --password-stdin', PW,
     "PASSWORD"),
    ("piped to sudo -S", f"echo {PW} | sudo -S apt update", PW, "PASSWORD"),
    ("redis AUTH", f"127.0.0.1:6379> AUTH default {PW}", PW, "PASSWORD"),
    ("htpasswd -b", f"htpasswd -b -c .htpasswd admin {PW}", PW, "PASSWORD"),
    ("rabbitmqctl", f"rabbitmqctl add_user admin {PW}", PW, "PASSWORD"),
    ("net user", f"net user bob {PW} /add", PW, "PASSWORD"),
    ("az --account-key", f"az storage blob upload --account-key {B64_32} -f x", B64_32,
     "PASSWORD"),
]


@pytest.mark.parametrize(("family", "text", "secret", "kind"), CAUGHT,
                         ids=[c[0] for c in CAUGHT])
def test_family_caught(family: str, text: str, secret: str, kind: str) -> None:
    out = redact(text)
    for i in range(0, max(1, len(secret) - 7)):
        assert secret[i:i + 8] not in out.text, (family, out.text)
    assert kind in {f.kind for f in out.findings}, (family, out.findings)


JWKS_N = base64.urlsafe_b64encode(bytes(range(256))).decode().rstrip("=")
SPKI = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" + B64_32 * 8
SSH_BLOB = "AAAAB3NzaC1yc2EAAAADAQABAAABAQ" + B64_32 * 8
SHA512 = "sha512-" + base64.b64encode(bytes(range(64))).decode()

# (why it is not a secret, text)
KEPT = [
    ("python version", '__version__ = "1.6.1.58"'),
    ("assembly version", "<AssemblyVersion>10.0.19041.1</AssemblyVersion>"),
    ("assembly file version", '[assembly: AssemblyFileVersion("4.2.0.1")]'),
    ("oid", 'OID "2.5.4.3"'),
    ("oid call", "x509.ObjectIdentifier('2.5.29.17')"),
    ("oid as a key", '{"2.5.4.10": "organizationName"}'),
    ("lock file integrity", f'"integrity": "{SHA512}"'),
    ("SRI", f'<script src="a.js" integrity="sha384-{B64_32}{B64_32[:20]}"></script>'),
    ("nix narHash", f'narHash = "sha256-{B64_32}";'),
    ("jwks modulus", '{"kty": "RSA", "n": "' + JWKS_N + '", "e": "AQAB"}'),
    ("public key pem body", f'PUBLIC_KEY = "{SPKI}"'),
    ("ssh public key blob", f'authorized_key = "{SSH_BLOB}"'),
    ("ssh public key line", f'pubkey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5{B64_32}"'),
    ("metadata address", "curl http://169.254.169.254/latest/meta-data/"),
    ("password from stdin", "docker login -u bot --password-stdin registry.io"),
    ("password from env", "openssl rsa -in k.pem -passin env:KEY_PASS"),
    ("password from file", "openssl rsa -in k.pem -passin file:/run/secrets/p"),
    ("mysql prompts", "mysql -u root -p orders"),
    ("no password flag", "psql --no-password -h db"),
    ("bypass is not pass", "git push --bypass hooks"),
    ("a template", "requirepass ${REDIS_PASSWORD}"),
    ("maven property", "<password>${env.NEXUS_PASSWORD}</password>"),
    ("properties reference", "spring.datasource.password=${DB_PASSWORD}"),
    ("code attribute", "self.password = password"),
    ("a signature in code", "sig = inspect.signature(func)"),
    ("a session object", "session = requests.Session()"),
    ("prose netrc words", "Set default password for encrypted files."),
    ("timestamps", "12:30:45:120:done"),
    ("env flag, no secret", "PASSWORD_MIN_LENGTH=12 ./configure"),
    ("key file", "KEY_FILE=/etc/ssl/key.pem ./serve"),
    ("kubernetes env, not a secret", "- name: LOG_LEVEL\n  value: debug"),
    ("AUTH in prose", "AUTH token flow"),
    ("a key file flag", "curl --client-key ./client.key https://x"),
    ("a key file flag, absolute", "kubectl --client-key=/etc/k.pem get po"),
    ("keyword arguments", "x = f(password=pw, other=1)"),
    ("a conditional", "password = x if y else z"),
    ("echo into grep", "echo hello | grep h"),
    ("a header list", 'AllowedHeaders: []string{"Accept", "Authorization", "Content-Type"}'),
    ("a docs placeholder", "request.headers.set('Authorization', 'token initial-token');"),
    ("terraform default, not a secret", 'variable "region" {\n  default = "eu-west-1"\n}'),
]


@pytest.mark.parametrize(("why", "text"), KEPT, ids=[k[0] for k in KEPT])
def test_near_miss_kept(why: str, text: str) -> None:
    assert find(text) == [], (why, redact(text).text)


@pytest.mark.parametrize(("value", "public"), [
    (SHA512, True), ("sha256:" + "ab" * 32, True), (SPKI, True), (SSH_BLOB, True),
    ("ssh-rsa " + SSH_BLOB, True),
    ("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" + B64_32, False),  # PKCS#8 private key
    ("MIIEowIBAAKCAQEA" + B64_32, False),  # PKCS#1 private key
    (A40, False),
])
def test_public_material(value: str, public: bool) -> None:
    assert is_public_material(value) is public


@pytest.mark.parametrize(("keyword", "expected"), [
    ("password", True), ("PASSWORD", True), ("passwd", True), ("pwd", True),
    ("dbpassword", True), ("storepass", True), ("keypass", True), ("token", False),
    ("secret", False), ("identitytoken", False),
])
def test_names_password(keyword: str, expected: bool) -> None:
    assert names_password(keyword) is expected
