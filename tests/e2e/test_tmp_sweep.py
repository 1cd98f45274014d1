"""A server that starts removes what crashed uploads left in files/tmp, and only that:
files still held (locked) by a live upload or `kaifang load` stay."""

import fcntl
import os


def test_start_removes_abandoned_uploads_only(clone_portal, start_server):
    p = clone_portal()
    tmp = os.path.join(p.path, "files", "tmp")
    os.makedirs(tmp, exist_ok=True)
    abandoned = os.path.join(tmp, "upload-crashed")
    with open(abandoned, "wb") as f:
        f.write(b"x" * 4096)
    held = os.path.join(tmp, "load-inprogress")
    with open(held, "wb") as f:
        f.write(b"y" * 10)
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        srv = start_server(p)
        assert not os.path.exists(abandoned)
        assert os.path.exists(held)  # its writer still holds it
        assert srv.get("/healthz").status_code == 200
    os.unlink(held)
