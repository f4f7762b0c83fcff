"""The secret guard: sensitive paths, secret detection, masking, diff scanning."""

from __future__ import annotations

import dataclasses
import sysconfig
from pathlib import Path

import pytest

from sandbox.secrets import SecretHit, is_sensitive_path, mask_secrets, scan_diff, scan_text

# Fake credentials, built from pieces so this file is not itself a finding.
AWS_KEY = "AKIA" + "Z7Q3LR5XV2M4PN6T"
GITHUB_TOKEN = "ghp_" + "x7Kp2Lm9Qr4Tv8Wz1Bn5Cd3Fg6Hj0Ks2PqAb"
SLACK_TOKEN = "xoxb-" + "123456789012-123456789012-q8zr2lmx9vb4nt7wk1ps"
STRIPE_KEY = "sk_live_" + "q8Zr2LmX9vB4nT7wK1pS3dF6" + "gH8jK0lZ" * 6
OPENAI_KEY = "sk-proj-" + "q8Zr2LmX9vB4nT7wK1pS" + "T3BlbkFJ" + "a1B2c3D4e5F6g7H8i9J0"
JWT = "eyJhbGciOiJIUzI1NiJ9" + ".eyJzdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
RANDOM_VALUE = "q8Zr2LmX9vB4nT7wK1pS"
PEM = "\n".join(
    [
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAq8Zr2LmX9vB4nT7wK1pS3dF6gH8jK0lZx7Kp2Lm9Qr4Tv8Wz",
        "1Bn5Cd3Fg6Hj0Ks2Pqa1B2c3D4e5F6g7H8i9J0q8Zr2LmX9vB4nT7wK1pS3dF6gH8j",
        "-----END RSA PRIVATE KEY-----",
    ]
)


@pytest.mark.parametrize(
    "path, sensitive",
    [
        (".env", True),
        ("app/.env.production", True),
        ("prod.env", True),
        (".env.example", False),
        (".env.sample", False),
        (".env.template", False),
        ("certs/server.pem", True),
        ("tls/server.key", True),
        ("home/.ssh/id_rsa", True),
        ("id_ed25519", True),
        ("id_ecdsa", True),
        ("id_rsa.pub", False),
        ("keystore.p12", True),
        ("cert.pfx", True),
        (".npmrc", True),
        (".pypirc", True),
        (".netrc", True),
        ("credentials.json", True),
        ("home/.aws/credentials", True),
        (".docker/config.json", True),
        ("deploy/service-account-prod.json", True),
        ("terraform.tfstate", True),
        ("./.ENV", True),
        ("src\\keys\\id_rsa", True),
        ("src/app.py", False),
        ("docs/keys.md", False),
        ("config.json", False),
        ("environment.py", False),
        ("monkey.py", False),
        ("README.md", False),
    ],
)
def test_is_sensitive_path(path: str, sensitive: bool) -> None:
    assert is_sensitive_path(path) is sensitive


def test_allow_list_lets_the_user_opt_in() -> None:
    assert is_sensitive_path("config/.env")
    assert not is_sensitive_path("config/.env", allow=[".env"])
    assert not is_sensitive_path("config/dev.pem", allow=["config/*.pem"])
    assert is_sensitive_path("other/dev.pem", allow=["config/*.pem"])


@pytest.mark.parametrize(
    "line, kind",
    [
        (f'aws_access_key_id = "{AWS_KEY}"', "AWS Access Key"),
        (f"token: {GITHUB_TOKEN}", "GitHub Token"),
        (f'SLACK = "{SLACK_TOKEN}"', "Slack Token"),
        (f"stripe.api_key = '{STRIPE_KEY}'", "Stripe Access Key"),
        (f"export OPENAI_API_KEY={OPENAI_KEY}", "OpenAI Token"),
        (f"cookie = '{JWT}'", "JSON Web Token"),
        ("DATABASE_URL = 'postgres://app:Xk9mP2vL5nQ8@db:5432/app'", "Basic Auth Credentials"),
        (f'API_KEY = "{RANDOM_VALUE}"', "Secret Keyword"),
        (f"DB_PASSWORD={RANDOM_VALUE}", "Secret Keyword"),
        (f'client_secret: str = "{RANDOM_VALUE}"', "Secret Keyword"),
        (f'{{"auth_token": "{RANDOM_VALUE}"}}', "Secret Keyword"),
        (f"curl -H 'Authorization: Bearer {RANDOM_VALUE}xyz'", "Bearer Token"),
    ],
)
def test_scan_text_finds_secrets_on_their_line(line: str, kind: str) -> None:
    text = f"import os\n\n{line}\nprint('done')\n"
    assert scan_text(text, "settings.py") == [SecretHit("settings.py", 3, kind)]


def test_private_key_block_is_one_hit_at_its_header() -> None:
    text = "key = '''\n" + PEM + "\n'''\n"
    assert scan_text(text) == [SecretHit("", 2, "Private Key")]


@pytest.mark.parametrize(
    "line",
    [
        'password = request.form["password"]',
        'api_key = os.environ["OPENAI_API_KEY"]',
        "api_key = os.environ.get('API_KEY', '')",
        'PASSWORD_FIELD = "confirm_password_input"',
        'token_url = "https://auth.example.com/oauth2/token"',
        'secret_path = "/var/run/secrets/app1/db"',
        "    private_key: PKCS7PrivateKeyTypes,",
        '"max_tokens_per_1_minute": max_tokens_per_1_minute,',
        'session_token = "123e4567-e89b-12d3-a456-426614174000"',
        'checksum = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"',
        'auth_version = "a1b2c3d4e5f60718"',
        "commit 3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
        'aws_key = "AKIAIOSFODNN7EXAMPLE"',
        'url = "https://user:password@example.com/"',
        'url = "https://user:${DB_PASSWORD}@db/app"',
        'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):',
        'secret_key = "xxxxxxxxxxxxxxxxxxxxxxxxxxxx"',
        'API_KEY = "your-api-key-goes-here-1234"',
        '"integrity": "sha512-q8Zr2LmX9vB4nT7wK1pS3dF6gH8jK0lZx7Kp2Lm9Qr4T=="',
        "ARN = 'arn:aws:secretsmanager:*:*:secret:A4BNetworkProfile*'",
        "password_hint = 'Use 12+ characters, mixing 3 kinds'",
    ],
)
def test_scan_text_leaves_ordinary_code_alone(line: str) -> None:
    assert scan_text(line + "\n") == []


def test_stdlib_modules_about_auth_have_no_findings() -> None:
    """About a megabyte of real code full of `password`, `key` and `token` names."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    names = ["ssl.py", "hmac.py", "secrets.py", "smtplib.py", "imaplib.py", "netrc.py", "getpass.py"]
    files = [stdlib / n for n in names] + sorted(stdlib.glob("email/*.py")) + sorted(stdlib.glob("http/*.py"))
    hits = [hit for f in files for hit in scan_text(f.read_text(encoding="utf-8"), f.name)]
    assert len(files) > 20 and hits == []


def test_hits_never_hold_the_secret() -> None:
    assert [f.name for f in dataclasses.fields(SecretHit)] == ["path", "line", "kind"]
    (hit,) = scan_text(f"token = '{GITHUB_TOKEN}'")
    assert GITHUB_TOKEN not in repr(hit)


def test_mask_secrets_replaces_values_and_keeps_the_rest() -> None:
    text = "\n".join(
        [
            f'aws = "{AWS_KEY}"',
            f"export OPENAI_API_KEY={OPENAI_KEY}",
            "url = 'https://app:Xk9mP2vL5nQ8@db/app'",
            f"Authorization: Bearer {JWT}",
            f"stripe = '{STRIPE_KEY}'",
            PEM,
            "print('ok')",
        ]
    )
    masked = mask_secrets(text)
    for secret in (AWS_KEY, OPENAI_KEY, "Xk9mP2vL5nQ8", JWT.split(".")[2], STRIPE_KEY[30:], "MIIEow", "1Bn5Cd"):
        assert secret not in masked
    assert masked.splitlines() == [
        'aws = "[REDACTED:AWS Access Key]"',
        "export OPENAI_API_KEY=[REDACTED:OpenAI Token]",
        "url = 'https://app:[REDACTED:Basic Auth Credentials]@db/app'",
        "Authorization: Bearer [REDACTED:JSON Web Token]",
        "stripe = '[REDACTED:Stripe Access Key]'",
        "[REDACTED:Private Key]",
        "print('ok')",
    ]


def test_mask_secrets_returns_clean_text_unchanged() -> None:
    text = "def login(user, password):\n    return check(user, password)\n"
    assert mask_secrets(text) is text or mask_secrets(text) == text
    assert mask_secrets("") == ""


def test_mask_secrets_hides_a_truncated_key() -> None:
    truncated = PEM.splitlines()[0] + "\n" + PEM.splitlines()[1] + "\n... (output truncated)"
    masked = mask_secrets(truncated)
    assert "MIIEow" not in masked and masked.startswith("[REDACTED:Private Key]")


PEM_ADDED = "\n".join("+" + line for line in PEM.splitlines())
DIFF = f"""diff --git a/app/config.py b/app/config.py
index 1111111..2222222 100644
--- a/app/config.py
+++ b/app/config.py
@@ -1,4 +1,5 @@
 import os
-API_KEY = os.environ["API_KEY"]
+API_KEY = "{RANDOM_VALUE}"
+DEBUG = True
 
 def settings():
@@ -20,2 +21,4 @@ def settings():
     return {{}}
+
+GITHUB = "{GITHUB_TOKEN}"
 # end
diff --git a/old.py b/old.py
deleted file mode 100644
--- a/old.py
+++ /dev/null
@@ -1,1 +0,0 @@
-AWS = "{AWS_KEY}"
diff --git a/keys/new.txt b/keys/new.txt
new file mode 100644
--- /dev/null
+++ b/keys/new.txt
@@ -0,0 +1,6 @@
+notes
{PEM_ADDED}
+++ not a header: an added line starting with two pluses {AWS_KEY}
"""


def test_scan_diff_reports_added_lines_at_new_line_numbers() -> None:
    assert scan_diff(DIFF) == [
        SecretHit("app/config.py", 2, "Secret Keyword"),
        SecretHit("app/config.py", 23, "GitHub Token"),
        SecretHit("keys/new.txt", 2, "Private Key"),
        SecretHit("keys/new.txt", 6, "AWS Access Key"),
    ]


def test_scan_diff_of_plain_diff_u_output() -> None:
    diff = f"--- a.py\t2024-01-01\n+++ a.py\t2024-01-02\n@@ -3 +3 @@\n-x = 1\n+token = '{GITHUB_TOKEN}'\n"
    assert scan_diff(diff) == [SecretHit("a.py", 3, "GitHub Token")]


def test_scan_diff_unquotes_the_paths_git_quotes() -> None:
    diff = f'--- /dev/null\n+++ "b/caf\\303\\251 \\"v2\\".py"\n@@ -0,0 +1 @@\n+t = "{GITHUB_TOKEN}"\n'
    assert scan_diff(diff) == [SecretHit('café "v2".py', 1, "GitHub Token")]
