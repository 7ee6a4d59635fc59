"""Connections outside Airflow: `AIRFLOW_CONN_*` in Airflow's JSON or URI form gives the same
connection, and each platform's connection is checked for its fields in one line."""

from __future__ import annotations

import json

import pytest

from contentpulse.credentials import Connection, get_connection, parse_connection
from contentpulse.demo import CONNECTIONS_FILE, SOCIAL_CONN_IDS
from contentpulse.errors import CredentialsError
from contentpulse.registry import connectors


def same(a: Connection, b: Connection) -> bool:
    fields = ("conn_type", "login", "host", "port", "schema", "extra")
    return all(getattr(a, f) == getattr(b, f) for f in fields) and (
        a.password.reveal() == b.password.reveal()
    )


@pytest.mark.parametrize(
    ("uri", "as_json"),
    [
        (
            "smtp://reports%40example.org:p%40ss%2Fw0rd@smtp.example.org:587?from_email=a%40b.c&disable_ssl=true",
            {"conn_type": "smtp", "login": "reports@example.org", "password": "p@ss/w0rd",
             "host": "smtp.example.org", "port": 587,
             "extra": {"from_email": "a@b.c", "disable_ssl": "true"}},
        ),
        (
            "google-cloud-platform://?__extra__=%7B%22client_id%22%3A+%22id%22%2C+%22refresh_token%22%3A+%22r%22%7D",
            {"conn_type": "google_cloud_platform", "extra": {"client_id": "id", "refresh_token": "r"}},
        ),
        (
            "http://https%3A%2F%2Fhooks.example.org%2Fservices%2FT0%2FB0%2Fsecret",
            {"conn_type": "http", "host": "https://hooks.example.org/services/T0/B0/secret"},
        ),
        (
            "http://https://hooks.example.org/services/T0/B0/secret",
            {"conn_type": "http", "host": "https://hooks.example.org/services/T0/B0/secret"},
        ),
        (  # as Airflow's get_uri() writes a host that is a URL: its path quoted, case kept
            "http://https://hooks.example.org%2Fservices%2FT0%2FB0%2FSeCrEt",
            {"conn_type": "http", "host": "https://hooks.example.org/services/T0/B0/SeCrEt"},
        ),
        (  # a database's connection: the path is its database (Airflow's schema)
            "postgres://contentpulse:pg%40ss@pg.internal:5432/lake?sslmode=require",
            {"conn_type": "postgres", "login": "contentpulse", "password": "pg@ss",
             "host": "pg.internal", "port": 5432, "schema": "lake",
             "extra": {"sslmode": "require"}},
        ),
        (
            "aws://AKIAEXAMPLE:secret%2Bkey@?region_name=eu-west-1",
            {"conn_type": "aws", "login": "AKIAEXAMPLE", "password": "secret+key",
             "extra": {"region_name": "eu-west-1"}},
        ),
    ],
)  # fmt: skip
def test_the_uri_form_gives_the_connection_its_json_form_gives(uri, as_json, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_MAIL", uri)
    from_uri = get_connection("mail")
    from_json = parse_connection("mail", json.dumps(as_json))
    assert same(from_uri, from_json), (from_uri, from_json)
    assert "secret" not in repr(from_uri).replace("Secret('***')", "")


def test_a_malformed_connection_is_one_line_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", "smtp://user:pw@host:notaport")
    with pytest.raises(
        CredentialsError, match="AIRFLOW_CONN_BROKEN is neither JSON nor a valid URI"
    ):
        get_connection("broken")
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN", '{"conn_type": "smtp", "port": "x25"}')
    with pytest.raises(CredentialsError, match="'port' is not a number"):
        get_connection("broken")


def test_each_platforms_connection_fields_are_checked_in_one_line():
    sandbox = json.loads(CONNECTIONS_FILE.read_text(encoding="utf-8"))
    conn_ids = {"youtube": "youtube_sandbox", "ga4": "ga4_sandbox", **SOCIAL_CONN_IDS}
    for platform, connector in connectors().items():
        fields = connector.connection_fields
        if platform == "csv_export":
            assert fields == ()  # files, no credentials
            continue
        good = parse_connection("c", json.dumps(sandbox[conn_ids[platform]]))
        good.require(platform, fields)  # the sandbox's connections are complete
        first = fields[-1]  # drop one field of the last (or only) way to authenticate
        partial = {k: "x" for k in first[:-1]}
        with pytest.raises(CredentialsError) as err:
            Connection("c", extra=partial).require(platform, fields)
        line = str(err.value)
        assert "\n" not in line and f"a {platform} connection needs extra" in line
        assert f"'{first[-1]}' is missing" in line, line
