#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/: a few dozen meaningful inputs per target (run from the
repository root; the committed seeds came from this script and the example files)."""
import json, os, pathlib, struct, shutil

root = pathlib.Path(__file__).resolve().parent / "seeds"
shutil.rmtree(root, ignore_errors=True)

def put(target, items, binary=False):
    d = root / target
    d.mkdir(parents=True, exist_ok=True)
    for i, item in enumerate(items):
        data = item if isinstance(item, bytes) else item.encode()
        (d / f"seed-{i:03}").write_bytes(data)

spec = {"name": "api", "namespace": "default", "script": "/usr/bin/python3", "args": ["app.py"],
        "cwd": "/srv", "env": {"PATH": "/bin", "PORT": "3000"}, "config_env": {"PORT": "3000"},
        "instances": 2, "kill_timeout_ms": 1600, "stop_signal": "SIGTERM",
        "restart": {"mode": "on-failure", "max_restarts": 5, "min_uptime_ms": 1000,
                    "backoff": {"type": "exponential", "delay_ms": 100, "max_delay_ms": 15000, "factor": 1.5}},
        "cron_restart": "0 3 * * *", "logs": {"out_file": "/tmp/a.log", "merge_logs": True, "date_format": ""}}
requests = [
    {"cmd": "ping"}, {"cmd": "list"}, {"cmd": "kill"}, {"cmd": "resurrect"}, {"cmd": "reload_logs"},
    {"cmd": "subscribe"}, {"cmd": "save", "force": True},
    {"cmd": "start", "spec": spec, "force": False, "update_env": True},
    {"cmd": "start", "spec": {"name": "co l", "script": "sleep", "args": ["9"]}},
    {"cmd": "start", "spec": {"name": "a\u001bb", "namespace": "n\ns", "script": "x"}},
    {"cmd": "apply", "specs": [spec, {"name": "w", "script": "/bin/sh"}], "restart_all": True},
    {"cmd": "stop", "targets": ["all"]}, {"cmd": "stop", "targets": ["/^ap.*$/", "3", "jobs"]},
    {"cmd": "restart", "targets": ["api"], "env": {"A": "1"}},
    {"cmd": "restart", "targets": ["/(a+)+$/"]},
    {"cmd": "delete", "targets": ["co l"]}, {"cmd": "reset", "targets": ["0"]},
    {"cmd": "signal", "signal": "SIGUSR1", "targets": ["api"]},
    {"cmd": "describe", "targets": ["api"], "history": False},
    {"cmd": "flush", "targets": []},
    {"cmd": "logs", "targets": ["api"], "lines": 20, "follow": True, "stream": "err", "grep": "err(or)?"},
    {"cmd": "metrics", "targets": [], "history": True}, {"cmd": "subscribe_metrics", "targets": ["api"]},
]
frames = [{"hello": {"protocol": 1, "client": "pmtui-cli"}}] + \
         [{"request": {"id": i + 1, "request": r}} for i, r in enumerate(requests)]
texts = [json.dumps(f) for f in frames] + ['{"request":{"id":1}}', '{"hello":{"protocol":99}}', 'null', '[]']
put("request", texts)

server = [{"hello": {"protocol": 1, "version": "0.1.0", "pid": 42}},
          {"reply": {"id": 1, "response": {"type": "pong", "version": "0.1.0", "pid": 1, "home": "/h",
                                           "processes": 0, "uptime_ms": 5, "warnings": []}}},
          {"reply": {"id": 2, "response": {"type": "error", "kind": "bad_request", "message": "no"}}},
          {"reply": {"id": 3, "response": {"type": "processes", "processes": []}}}]
def frame(b):
    return struct.pack(">I", len(b)) + b
codec = [frame(t.encode()) for t in texts[:20]] + [frame(json.dumps(s).encode()) for s in server]
codec += [frame(texts[0].encode()) + frame(texts[8].encode()) + frame(texts[12].encode()),
          frame(texts[1].encode())[:10], struct.pack(">I", 1 << 30) + b"{", struct.pack(">I", 0),
          frame(b"\xff\xfe not json"), frame(b"GET / HTTP/1.1\r\n\r\n")]
put("frame_codec", codec, binary=True)

ex = pathlib.Path(__file__).resolve().parent.parent / "examples"
def example(name):
    p = ex / name
    return p.read_text() if p.exists() else ""
put("config_json", [example("ecosystem.json"),
    '{"apps": [{"name": "a", "script": "app.py"}]}',
    "// comment\n{apps: [{name: 'a', script: 'app.py', env: {A: 1, B: true, C: null}, },],}",
    '[{"script": "app.py", "instances": "max", "exec_mode": "cluster"}]',
    '{"name": "solo", "script": "sleep 10", "cron_restart": "*/5 * * * *", "max_memory_restart": "500M"}',
    '{"apps": [{"name": "a", "script": "app.py", "restart_policy": {"mode": "on-failure", "max_restarts": 3, "min_uptime": "2s", "backoff": {"type": "exponential", "delay": "100ms", "max_delay": "1m", "factor": 2}}}]}',
    '{"apps": [{"name": "a", "script": "app.py", "log": {"out_file": "out.log", "max_size": "1M", "max_files": 3, "compress": true, "date_format": "YYYY-MM-DD HH:mm Z"}}]}',
    '{"apps": [{"name": "a", "script": "app.py", "env_file": ".env", "env_production": {"NODE_ENV": "production"}, "append_env_to_name": true, "name_prefix": "p"}]}',
    '{"apps": [{"name": "a\\u001b", "script": "app.py"}, {"name": "a\\u001b", "script": "app.py"}]}',
    '{"apps": [{"name": "x", "script": "app.py", "stop_exit_codes": [0, 2], "kill_timeout": "5s", "stop_signal": "SIGINT", "filter_env": ["AWS_"]}]}',
    '{"apps": 3}', '{"apps": [{"nmae": "typo"}]}', ""])
put("config_yaml", [example("ecosystem.yaml"),
    "apps:\n  - name: a\n    script: app.py\n    env:\n      A: 1\n",
    "- script: app.py\n  instances: 2\n  merge_logs: true\n",
    "name: solo\nscript: sleep 10\nrestart_policy:\n  mode: always\n  backoff: {type: fixed, delay: 1s}\n",
    "apps:\n  - &base\n    name: a\n    script: app.py\n  - <<: *base\n    name: b\n",
    "apps:\n  - name: 'quoted: yes'\n    script: app.py\n    args: [--port, 3000]\n    cron: '0 */2 * * *'\n",
    "apps: [{name: a, script: app.py, max_memory_restart: 1G, watch: true}]\n",
    "apps:\n  - name: multi\n    script: app.py\n    env:\n      TEXT: |\n        line one\n        line two\n",
    "%YAML 1.2\n---\napps: []\n...\n", "apps:\n\t- bad tab\n", "{", ""])
put("config_toml", [example("ecosystem.toml"),
    '[[apps]]\nname = "a"\nscript = "app.py"\n',
    '[[apps]]\nname = "a"\nscript = "app.py"\n[apps.env]\nA = 1\nB = true\n',
    '[[apps]]\nname = "b"\nscript = "app.py"\ninstances = 4\n[apps.restart_policy]\nmode = "on-failure"\n[apps.restart_policy.backoff]\ntype = "exponential"\ndelay = "100ms"\n',
    'name = "solo"\nscript = "sleep 10"\ncron_restart = "0 0 * * *"\n',
    '[[apps]]\nname = "c"\nscript = "app.py"\nkill_timeout = 3000\nlog = { out_file = "o.log", max_size = "10M" }\n',
    '[[apps]]\nname = """multi\nline"""\nscript = "app.py"\n',
    'apps = [{ name = "d", script = "app.py", args = ["-v"] }]\n',
    '[[apps]]\nname = "e"\nscript = "app.py"\n[[apps]]\nname = "e"\nscript = "app.py"\n',
    "[apps\n", 'x = 1979-05-27T07:32:00Z\n', ""])
put("units", ["0", "1600", "5s", "500ms", "1m30s", "1.5m", "2h", "1d", "10 s", "-1s", "1e3",
    "18446744073709551615", "99999999999999999999h", "500M", "1G", "64K", "10mb", "1.5G", "1024", "0.5K",
    "max", "-1", "-999", "4", "0", "", " ", "s", "5ss", "5 ms ", "1h1m1s1ms", "nan", "inf"])
put("cron", ["* * * * *", "0 * * * *", "*/5 * * * *", "0 3 * * 1-5", "0 0 1 1 *", "0 0 29 2 *",
    "0 0 30 2 *", "0 0 31 4 *", "*/15 9-17 * * MON-FRI", "0 0 * * 7", "0 0 L * *", "0 0 * * 5L",
    "0 0 * * 1#2", "0 0 15W * *", "30 2 29 3 *", "0 30 2 * * *", "*/10 * * * * *", "@hourly", "@daily",
    "@weekly", "@monthly", "@yearly", "@reboot", "0 0 ? * *", "60 * * * *", "* * * *", "0 0 1-31/2 * *",
    "0 0 * JAN,JUL *", "0 12 * * SUN#5", "59 23 31 12 *", ""])
for d in sorted(root.iterdir()):
    print(d.name, len(list(d.iterdir())))
