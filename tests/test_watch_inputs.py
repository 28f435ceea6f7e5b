"""The stdin, socket and cloudtrail_dir sources of `authz-diag watch`, and `authz-diag send`."""

from __future__ import annotations

import gzip
import json
import socket
import stat
import subprocess
import sys
from pathlib import Path

from test_watch_daemon import Daemon, line, watch_argv, write_config

TERRAFORM = (
    "╷\n"
    "│ Error: creating EC2 Instance: operation error EC2: RunInstances, https response error "
    "StatusCode: 403, RequestID: 1b2c, api error UnauthorizedOperation: You are not authorized "
    "to perform this operation. User: arn:aws:iam::123456789012:user/ci is not authorized to "
    "perform: ec2:RunInstances on resource: arn:aws:ec2:us-east-1:123456789012:instance/* "
    "because no identity-based policy allows the ec2:RunInstances action.\n"
    "│\n"
    '│   with aws_instance.web,\n│   on main.tf line 12, in resource "aws_instance" "web":\n'
    "╵\n"
)


def test_stdin_source_ends_at_eof_with_alerts_flushed(tmp_path: Path) -> None:
    """With a stdin source the daemon exits 0 at EOF after printing the alerts for its input."""
    cfg = write_config(tmp_path, '[[source]]\ntype = "stdin"\n').read_text()
    # A long group_wait: the alerts must come out because EOF flushes them.
    cfg = cfg.replace('group_wait = "0s"', 'group_wait = "1h"')
    (tmp_path / "watch.toml").write_text(cfg)
    proc = subprocess.run(
        [*watch_argv(), "watch", "--config", str(tmp_path / "watch.toml")],
        input=(line(1) + "noise\n" + line(2)).encode(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    alerts = [json.loads(x) for x in proc.stdout.splitlines()]
    resources = sorted(a["diagnoses"][0]["resource"] for a in alerts)
    assert resources == ["arn:aws:s3:::bucket/obj-1", "arn:aws:s3:::bucket/obj-2"]


def test_socket_source_and_send(tmp_path: Path) -> None:
    """A Terraform error piped through `authz-diag send` comes out of the daemon as a diagnosis."""
    sock = tmp_path / "run" / "in.sock"
    src = f'[[source]]\ntype = "socket"\npath = "{sock}"\n'
    d = Daemon(tmp_path, write_config(tmp_path, src))
    try:
        d.wait_ready()
        assert stat.S_IMODE(sock.stat().st_mode) == 0o660
        proc = subprocess.run(
            [*watch_argv(), "send", "--socket", str(sock)],
            input=TERRAFORM.encode(),
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        d.wait_for(lambda: len(d.alerts) >= 1, what="the terraform alert")
    finally:
        assert d.stop() == 0
    diag = d.alerts[0]["diagnoses"][0]
    assert diag["action"] == "ec2:RunInstances"
    assert diag["principal_arn"] == "arn:aws:iam::123456789012:user/ci"
    assert not sock.exists(), "the socket the daemon created is removed on stop"


def test_send_without_a_daemon_says_what_to_do(tmp_path: Path) -> None:
    """`authz-diag send` to a socket nobody listens on exits 2 and explains what to check."""
    proc = subprocess.run(
        [*watch_argv(), "send", "--socket", str(tmp_path / "none.sock")],
        input=b"x\n",
        capture_output=True,
        text=False,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"is `authz-diag watch` running" in proc.stderr


def test_socket_activation_uses_fd_3(tmp_path: Path) -> None:
    """Started with LISTEN_FDS=1 the daemon serves the socket it was given, as systemd passes it."""
    path = tmp_path / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(4)
    cfg = write_config(tmp_path, f'[[source]]\ntype = "socket"\npath = "{tmp_path}/unused.sock"\n')
    # LISTEN_PID must be the daemon's own pid: a launcher sets it, then execs (same pid).
    argv = [*watch_argv(), "watch", "--config", str(cfg)]
    launcher = (
        "import os, sys\n"
        f"os.dup2({listener.fileno()}, 3)\n"
        "os.environ['LISTEN_PID'] = str(os.getpid())\n"
        "os.environ['LISTEN_FDS'] = '1'\n"
        "os.execv(sys.argv[1], sys.argv[1:])\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", launcher, *argv],
        pass_fds=(listener.fileno(),),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(str(path))
        client.sendall(line(7).encode())
        client.close()
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first, proc.stderr.read() if proc.stderr else ""
        alert = json.loads(first)
        assert alert["diagnoses"][0]["resource"] == "arn:aws:s3:::bucket/obj-7"
        assert not (tmp_path / "unused.sock").exists()
    finally:
        proc.terminate()
        proc.wait(15)
        listener.close()


def cloudtrail_record(i: int) -> dict[str, object]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "arn": "arn:aws:sts::123456789012:assumed-role/app/i-0abc",
            "accountId": "123456789012",
        },
        "eventTime": "2024-05-01T12:00:00Z",
        "eventSource": "s3.amazonaws.com",
        "eventName": "GetObject",
        "awsRegion": "us-east-1",
        "errorCode": "AccessDenied",
        "errorMessage": "Access Denied",
        "requestParameters": {"bucketName": "bucket", "key": f"ct-{i}"},
        "resources": [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::bucket/ct-{i}"}],
        "eventID": f"00000000-0000-0000-0000-00000000000{i}",
        "recipientAccountId": "123456789012",
    }


def test_cloudtrail_dir_processes_each_delivery_once(tmp_path: Path) -> None:
    """A new delivery in the AWSLogs tree is alerted, and not again after a restart."""
    root = tmp_path / "ct"
    day = root / "AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/01"
    day.mkdir(parents=True)
    cfg = write_config(tmp_path, f'[[source]]\ntype = "cloudtrail_dir"\npath = "{root}"\n')
    d = Daemon(tmp_path, cfg)
    try:
        d.wait_ready()
        doc = {"Records": [cloudtrail_record(1), cloudtrail_record(2)]}
        name = "123456789012_CloudTrail_us-east-1_20240501T1200Z_abc.json.gz"
        (day / name).write_bytes(gzip.compress(json.dumps(doc).encode()))
        (root / "not-a-delivery.json.gz").write_bytes(gzip.compress(json.dumps(doc).encode()))
        d.wait_for(lambda: len(d.alerts) >= 1, what="cloudtrail alerts")
    finally:
        assert d.stop() == 0
    first = len(d.alerts)
    d2 = Daemon(tmp_path, cfg)
    try:
        d2.wait_ready()
        # A sentinel delivery written after the restart is read no earlier than the
        # old one would be re-read, and stop() delivers what is due.
        doc = {"Records": [cloudtrail_record(3)]}
        name = "123456789012_CloudTrail_us-east-1_20240501T1300Z_def.json.gz"
        (day / name).write_bytes(gzip.compress(json.dumps(doc).encode()))
        d2.wait_for(lambda: len(d2.alerts) >= 1, 60, "the sentinel delivery's alert")
    finally:
        assert d2.stop() == 0
    assert first >= 1
    text = json.dumps(d2.alerts)
    assert "bucket/ct-3" in text
    assert "bucket/ct-1" not in text and "bucket/ct-2" not in text, (
        "a processed delivery was alerted again after restart"
    )
