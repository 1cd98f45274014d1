"""
End-to-end fixtures: a temporary portal made with the real `kaifang` CLI, and the real
`kaifang serve` on a loopback port, driven over HTTP.

Environment:
  KAIFANG_BIN         the built binary (required)
  KAIFANG_SOURCE_DIR  the repository (examples/catalog, tests/data)
  KAIFANG_TEST_STORE  "sqlite" (default) or "postgresql": portals are then made with
                      `kaifang init --store postgresql://…`, each on its own database of a
                      throwaway cluster (scripts/pg-test-cluster.sh) that the session starts
                      and removes, even when tests fail; copies of a portal copy its
                      database (CREATE DATABASE … TEMPLATE).

Every server is stopped with SIGTERM at teardown; the teardown asserts exit status 0 and
that no sanitizer report appeared on its stderr.
"""

import atexit
import itertools
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import pytest
import requests

BIN = os.environ.get("KAIFANG_BIN", "")
SOURCE_DIR = os.environ.get(
    "KAIFANG_SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
)
DATA_DIR = os.path.join(SOURCE_DIR, "tests", "data")
CATALOG_DIR = os.path.join(SOURCE_DIR, "examples", "catalog")

READY_RE = re.compile(r"^kaifang: serving http://([0-9A-Za-z.\-\[\]:]+):(\d+)/$")
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer", "ERROR: UndefinedBehaviorSanitizer")
READY_TIMEOUT = 90.0  # ASan builds on a busy 2-core machine start slowly
CLI_TIMEOUT = 120.0
HTTP_TIMEOUT = 60.0

# Actions that CKAN lets you call with GET (ckan.logic.action.get); the rest are writes.
READ_ACTIONS = {
    "package_list", "package_show", "package_search", "resource_show", "organization_list",
    "organization_show", "group_list", "group_show", "tag_list", "license_list", "status_show",
    "help_show", "xloader_status", "datastore_search", "datastore_search_sql", "datastore_info",
    "user_role_list", "grant_show", "grant_list",
    "fee_schedule_show", "fee_schedule_list", "audit_report",
    "datastore_privacy_report",
}

# The users every portal gets (name -> role in the organization ORG, or "sysadmin").
ORG = "ministry-of-data"
USERS = {
    "sysadmin": "sysadmin",
    "orgadmin": "admin",
    "editor": "editor",
    "member": "member",
    "outsider": None,
}

_counter = itertools.count(1)

# -- the store under test -------------------------------------------------------------

STORE = os.environ.get("KAIFANG_TEST_STORE", "sqlite")
assert STORE in ("sqlite", "postgresql"), "KAIFANG_TEST_STORE=%r: sqlite or postgresql" % STORE
PG_SCRIPT = os.path.join(SOURCE_DIR, "scripts", "pg-test-cluster.sh")
_pg = {"dir": None}

# The parity test compares the two stores and needs the cluster: the PostgreSQL pass
# runs it (CMakeLists.txt, e2e/pytest-postgresql), the SQLite pass leaves it out.
collect_ignore = ["test_store_parity.py", "test_store_pg_servers.py",
                  "test_store_pg_migrate.py", "test_store_pg_replica.py", "test_store_pg_backup.py"] if STORE == "sqlite" else []
_pg_dbs = itertools.count(1)


def pg_start():
    """Starts the session's throwaway cluster (once); returns its socket directory."""
    if _pg["dir"] is None:
        d = tempfile.mkdtemp(prefix="kf-pg-")
        os.rmdir(d)  # the script makes it, owned by the cluster's user
        subprocess.run([PG_SCRIPT, "start", d], check=True, capture_output=True, text=True)
        _pg["dir"] = d
        atexit.register(pg_stop)
    return _pg["dir"]


def pg_stop():
    if _pg["dir"] is not None:
        subprocess.run([PG_SCRIPT, "stop", _pg["dir"]], capture_output=True)
        _pg["dir"] = None


def pg_url(db):
    return "postgresql:///%s?host=%s&user=kaifang" % (db, pg_start())


def pg_sql(sql):
    """Runs one statement as the cluster's superuser (psql, database postgres)."""
    p = subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", pg_url("postgres"), "-c", sql],
                       capture_output=True, text=True)
    assert p.returncode == 0, "psql %r: %s" % (sql, p.stderr)


def pg_value(db, sql):
    """The first column of the first row of sql on database db, as text."""
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", pg_url(db), "-c", sql],
                       capture_output=True, text=True)
    assert p.returncode == 0, "psql %r: %s" % (sql, p.stderr)
    return p.stdout.strip()


def pg_new_db(template=None):
    """A new database (a copy of template when given); returns its name."""
    name = "kf_%d_%s" % (next(_pg_dbs), uuid.uuid4().hex[:8])
    pg_sql("CREATE DATABASE %s%s" % (name, " TEMPLATE " + template if template else ""))
    return name


def portal_db(path):
    """The PostgreSQL database a portal's kaifang.conf names."""
    with open(os.path.join(str(path), "kaifang.conf")) as f:
        m = re.search(r"^store_url = postgresql:///(\w+)\?", f.read(), re.M)
    assert m, "no PostgreSQL store_url in %s/kaifang.conf" % path
    return m.group(1)


def portal_sql(path, sql, params=()):
    """Runs one statement on a portal's database, whichever the store (the SQLite file,
    or its PostgreSQL database through psql), and returns its rows as lists of text
    (None for NULL). params are bound as ? (SQLite) or quoted literals (psql), so sql
    must be valid on both engines; for a ledger entry use ENTRY_TEXT. Writes commit."""
    if STORE == "sqlite":
        db = sqlite3.connect(os.path.join(str(path), "kaifang.db"), timeout=30)
        try:
            with db:
                rows = db.execute(sql, params).fetchall()
        finally:
            db.close()  # not left to the garbage collector (see test_ledger_verify)
        return [[None if v is None else str(v) for v in row] for row in rows]
    for v in params:
        sql = sql.replace("?", "'%s'" % str(v).replace("'", "''"), 1)
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=\\N", "-v",
                        "ON_ERROR_STOP=1", pg_url(portal_db(path)), "-c", sql],
                       capture_output=True, text=True)
    assert p.returncode == 0, "psql %r: %s" % (sql, p.stderr)
    return [[None if v == "\\N" else v for v in line.split("\t")]
            for line in p.stdout.splitlines() if line]


# A ledger entry (BLOB in SQLite, bytea in PostgreSQL) as text, for portal_sql.
ENTRY_TEXT = "CAST(entry AS TEXT)" if STORE == "sqlite" else "convert_from(entry, 'UTF8')"


def copy_portal(src, dest):
    """Copies a portal directory; on PostgreSQL also its database (the copy's
    kaifang.conf names the new one). The source must have no open connection."""
    shutil.copytree(str(src), str(dest))
    if STORE == "postgresql":
        old = portal_db(src)
        new = pg_new_db(template=old)
        conf = os.path.join(str(dest), "kaifang.conf")
        with open(conf) as f:
            text = f.read()
        with open(conf, "w") as f:
            f.write(text.replace("postgresql:///%s?" % old, "postgresql:///%s?" % new))


def unique(prefix="ds"):
    """A fresh, valid CKAN name (lowercase, digits, '-')."""
    return "%s-%d-%s" % (prefix, next(_counter), uuid.uuid4().hex[:8])


def sanitizer_env(extra=None):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("LSAN_OPTIONS", "suppressions=%s:print_suppressions=0"
                   % os.path.join(SOURCE_DIR, "tests", "lsan.supp"))
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    # No proxy may get between the tests and the loopback server.
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    env["NO_PROXY"] = "127.0.0.1,localhost"
    if extra:
        env.update(extra)
    return env


def assert_no_sanitizer_report(text, what):
    for mark in SANITIZER_MARKS:
        assert mark not in text, "%s: sanitizer report (%r) on stderr:\n%s" % (what, mark, text[-6000:])


def run_cli(*args, portal=None, check=None, env=None, input=None, timeout=CLI_TIMEOUT):
    """Runs `kaifang ARGS [--portal DIR]`. check: expected exit status (None: any)."""
    assert BIN, "KAIFANG_BIN is not set: point it at the built kaifang binary"
    argv = [BIN] + [str(a) for a in args]
    if portal is not None:
        argv += ["--portal", str(portal)]
    p = subprocess.run(argv, capture_output=True, text=True, env=sanitizer_env(env), input=input,
                       timeout=timeout)
    assert_no_sanitizer_report(p.stderr, " ".join(argv))
    if check is not None:
        assert p.returncode == check, "%s: exit %d (wanted %d)\nstdout: %s\nstderr: %s" % (
            " ".join(argv), p.returncode, check, p.stdout[-3000:], p.stderr[-3000:])
    return p


class Portal:
    """A portal directory with users, tokens and an organization, made through the CLI."""

    def __init__(self, path):
        self.path = str(path)
        self.tokens = {}  # user name -> API token
        self.org = ORG

    def cli(self, *args, check=0, env=None):
        return run_cli(*args, portal=self.path, check=check, env=env)

    def init(self):
        if STORE == "postgresql":
            self.cli("init", "--store", pg_url(pg_new_db()))
        else:
            self.cli("init")
        return self

    def add_users(self):
        for name, role in USERS.items():
            args = ["user", "add", name, "--email", name + "@example.org"]
            if role == "sysadmin":
                args.append("--sysadmin")
            self.cli(*args)
            self.tokens[name] = create_token(self, name)
        self.cli("organization", "add", ORG, "--title", "Ministry of Data")
        for name, role in USERS.items():
            if role in ("admin", "editor", "member"):
                self.cli("member", "add", ORG, name, role)
        return self


def create_token(portal, user, label=None):
    args = ["token", "create", user]
    if label:
        args += ["--label", label]
    p = portal.cli(*args)
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    assert len(lines) == 1, "token create must print the token alone on one line, got %r" % p.stdout
    token = lines[0].strip()
    assert len(token) >= 16 and " " not in token, "implausible token %r" % token
    return token


class Response:
    """What api() returns: status, parsed JSON body (None if not JSON), headers, raw."""

    def __init__(self, r):
        self.status = r.status_code
        self.headers = r.headers
        self.raw = r.content
        try:
            self.body = r.json()
        except ValueError:
            self.body = None

    def __iter__(self):  # status, body = api(...)
        return iter((self.status, self.body))

    def __repr__(self):
        return "<%d %s>" % (self.status, (self.raw[:600]).decode("utf-8", "replace"))


class Server:
    def __init__(self, portal, args=(), env=None, access_log=True, name="server", command=("serve",)):
        self.portal = portal
        self.stderr_path = os.path.join(portal.path, "..", "%s-stderr-%d.txt" % (name, next(_counter)))
        self.stderr_path = os.path.abspath(self.stderr_path)
        self.access_log = os.path.abspath(os.path.join(portal.path, "..", "%s-access-%d.log" % (name, next(_counter)))) if access_log else None
        argv = [BIN] + list(command) + ["--portal", portal.path, "--listen", "127.0.0.1:0"]
        if self.access_log:
            argv += ["--access-log", self.access_log]
        argv += list(args)
        self.argv = argv
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._stderr, env=sanitizer_env(env))
        self.host, self.port = self._wait_ready()
        self.url = "http://%s:%d" % (self.host, self.port)
        self.session = requests.Session()
        self.session.trust_env = False
        self.stopped = False
        self.exit_code = None

    def stderr_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def _wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            text = self.stderr_text()
            for line in text.splitlines():
                m = READY_RE.match(line.strip())
                if m:
                    lines = [l for l in text.splitlines() if READY_RE.match(l.strip())]
                    assert len(lines) == 1, "more than one ready line: %r" % text
                    return m.group(1), int(m.group(2))
            if self.proc.poll() is not None:
                raise AssertionError("kaifang serve exited with %s before it was ready; stderr:\n%s"
                                     % (self.proc.returncode, text[-4000:]))
            time.sleep(0.05)
        self.proc.kill()
        raise AssertionError("kaifang serve printed no ready line within %ds; stderr:\n%s"
                             % (READY_TIMEOUT, self.stderr_text()[-4000:]))

    # -- HTTP helpers ---------------------------------------------------------------

    def request(self, method, path, headers=None, **kw):
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("allow_redirects", False)
        return self.session.request(method, self.url + path, headers=headers or {}, **kw)

    def get(self, path, headers=None, **kw):
        return self.request("GET", path, headers=headers, **kw)

    def api(self, action, token=None, method=None, headers=None, json_body=None, data=None,
            files=None, prefix="/api/3/action/", auth_header="Authorization", params=None, **kw_params):
        """Calls an action. GET: parameters in the query string (lists JSON-encoded, as
        CKAN's facet.field); POST: a JSON object body (or json_body/data/files verbatim)."""
        p = dict(params or {})
        p.update(kw_params)
        if method is None:
            method = "GET" if action in READ_ACTIONS and json_body is None and data is None and files is None else "POST"
        h = dict(headers or {})
        if token is not None:
            h[auth_header] = token
        url = prefix + action
        if method == "GET":
            q = []
            for k, v in p.items():
                if isinstance(v, (list, dict)):
                    v = json.dumps(v)
                elif isinstance(v, bool):
                    v = "true" if v else "false"
                q.append((k, str(v)))
            if q:
                url += "?" + urllib.parse.urlencode(q)
            r = self.request("GET", url, headers=h)
        else:
            if files is not None:
                r = self.request("POST", url, headers=h, data=p, files=files)
            elif data is not None:
                r = self.request("POST", url, headers=h, data=data)
            else:
                body = json_body if json_body is not None else p
                h.setdefault("Content-Type", "application/json")
                r = self.request("POST", url, headers=h, data=json.dumps(body).encode("utf-8"))
        return Response(r)

    # -- lifecycle ------------------------------------------------------------------

    def kill_with(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, check=True):
        """Stops the server; asserts exit 0 and a clean sanitizer report when check."""
        if self.stopped:
            return self.exit_code
        self.stopped = True
        self.session.close()
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.exit_code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._stderr.close()
            raise AssertionError("kaifang serve did not stop within 60 s of %s; stderr:\n%s"
                                 % (signal.Signals(sig).name, self.stderr_text()[-4000:]))
        self._stderr.close()
        text = self.stderr_text()
        if check:
            assert_no_sanitizer_report(text, "kaifang serve")
            assert self.exit_code == 0, "kaifang serve exited %d on %s; stderr:\n%s" % (
                self.exit_code, signal.Signals(sig).name, text[-4000:])
        return self.exit_code

    def access_log_lines(self):
        with open(self.access_log, "rb") as f:
            return f.read().decode("utf-8", "replace").splitlines()


# -- assertions shared by the tests ---------------------------------------------------


def ok(resp):
    """Asserts a CKAN success envelope and returns the result."""
    assert resp.status == 200, "wanted 200, got %r" % (resp,)
    b = resp.body
    assert isinstance(b, dict), "not a JSON object: %r" % (resp,)
    assert b.get("success") is True, "success is not true: %r" % (resp,)
    assert "result" in b, "no result: %r" % (resp,)
    assert isinstance(b.get("help"), str), "no help string: %r" % (resp,)
    return b["result"]


def fails(resp, status, type_=None, field=None, message=None):
    """Asserts a CKAN error envelope with the given status; returns the error object.
    field: the error must carry a per-field list for it (CKAN validation errors);
    message: a substring of error.message (or of the field's messages)."""
    assert resp.status == status, "wanted %d, got %r" % (status, resp)
    b = resp.body
    assert isinstance(b, dict), "error body is not a JSON object: %r" % (resp,)
    assert b.get("success") is False, "success is not false: %r" % (resp,)
    assert "result" not in b, "an error carries no result: %r" % (resp,)
    assert isinstance(b.get("help"), str), "no help string: %r" % (resp,)
    err = b.get("error")
    assert isinstance(err, dict), "no error object: %r" % (resp,)
    assert isinstance(err.get("__type"), str) and err["__type"], "no error.__type: %r" % (resp,)
    if type_ is not None:
        assert err["__type"] == type_, "wanted __type %r: %r" % (type_, resp)
    if field is not None:
        assert field in err, "error does not name field %r: %r" % (field, resp)
        v = err[field]
        # CKAN: a list of messages per field (a bare string from _get_or_bust; nested
        # lists/dicts for tags and resources).
        assert v and isinstance(v, (list, str, dict)), "error[%r] must carry messages: %r" % (field, resp)
    if message is not None:
        texts = [err.get("message") or ""]
        if field is not None:
            texts.append(json.dumps(err[field], ensure_ascii=False))
        assert any(message in t for t in texts), "no message containing %r: %r" % (message, resp)
    if field is None:
        msgs = [v for k, v in err.items() if k != "__type"]
        assert msgs, "error carries neither a message nor field lists: %r" % (resp,)
    return err


def make_dataset(srv, token, name=None, **fields):
    """package_create in the standard organization; returns the created dataset."""
    d = {"name": name or unique(), "title": "A dataset", "owner_org": ORG}
    d.update(fields)
    return ok(srv.api("package_create", token=token, **d))


# -- fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def pg_cluster():
    """With KAIFANG_TEST_STORE=postgresql: the session's cluster, stopped and removed at
    the end of the session whatever happened (atexit too, should the session die)."""
    if STORE != "postgresql":
        yield None
        return
    yield pg_start()
    pg_stop()


@pytest.fixture(scope="session")
def kaifang_bin():
    assert BIN and os.path.isfile(BIN) and os.access(BIN, os.X_OK), \
        "KAIFANG_BIN=%r is not an executable file" % BIN
    return BIN


@pytest.fixture(scope="session")
def base_portal(tmp_path_factory, kaifang_bin):
    """A portal with the standard users and organization, never served: copy it with
    clone_portal() for a fresh portal in milliseconds."""
    p = Portal(tmp_path_factory.mktemp("base") / "portal").init().add_users()
    return p


@pytest.fixture
def clone_portal(base_portal, tmp_path):
    made = []

    def clone(name="portal"):
        dest = tmp_path / ("%s-%d" % (name, len(made)))
        copy_portal(base_portal.path, dest)
        p = Portal(dest)
        p.tokens = dict(base_portal.tokens)
        made.append(p)
        return p

    return clone


@pytest.fixture
def start_server():
    """Factory: start_server(portal, args=(), env=None) -> Server; all stopped (and
    checked) at teardown."""
    servers = []

    def start(portal, args=(), env=None, **kw):
        s = Server(portal, args=args, env=env, **kw)
        servers.append(s)
        return s

    yield start
    errors = []
    for s in servers:
        try:
            s.stop()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n\n".join(errors)


@pytest.fixture(scope="module")
def portal(tmp_path_factory, base_portal):
    """A module's own portal (copied from base_portal)."""
    dest = tmp_path_factory.mktemp("mod") / "portal"
    copy_portal(base_portal.path, dest)
    p = Portal(dest)
    p.tokens = dict(base_portal.tokens)
    return p


@pytest.fixture(scope="module")
def srv(portal):
    """One server per test module, on the module's portal."""
    s = Server(portal)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tok(portal):
    return portal.tokens


@pytest.fixture(scope="session")
def catalog_server(tmp_path_factory, kaifang_bin):
    """A portal loaded with examples/catalog (loaded twice: re-loading must not duplicate),
    served for the whole session."""
    assert os.path.isdir(CATALOG_DIR), "no example catalog at %s" % CATALOG_DIR
    p = Portal(tmp_path_factory.mktemp("catalog") / "portal").init()
    p.cli("user", "add", "sysadmin", "--sysadmin")
    p.tokens["sysadmin"] = create_token(p, "sysadmin")
    p.cli("load", CATALOG_DIR)
    p.cli("load", CATALOG_DIR)
    s = Server(p, name="catalog")
    yield s
    s.stop()
