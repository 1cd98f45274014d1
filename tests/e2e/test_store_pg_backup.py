"""
scripts/backup-restore-test.sh (docs/deploy.md, "Backups"): pg_dump of a PostgreSQL
portal's database and a copy of its directory, restored into a fresh database with
pg_restore, served, and compared answer for answer with the original (package_list,
package_show, organization_show, datastore_search, the ledger checkpoint), then
`kaifang ledger verify` of the restored portal. Runs on the session's cluster.

Runs in the PostgreSQL pass only (conftest.py leaves it out of the SQLite pass).
"""

import os
import subprocess

from conftest import BIN, SOURCE_DIR, pg_start, sanitizer_env


def test_backup_restore_script():
    script = os.path.join(SOURCE_DIR, "scripts", "backup-restore-test.sh")
    p = subprocess.run([script, BIN], capture_output=True, text=True, timeout=300,
                       env=sanitizer_env({"KAIFANG_PGHOST": pg_start()}))
    assert p.returncode == 0, p.stderr[-4000:]
    assert "backup-restore-test: ok" in p.stdout, p.stdout
