#!/usr/bin/env python3
"""Writes a corpus of Kubernetes manifests with a seeded mix of kinds and capability flaws.

Usage: gen_corpus.py DIR [N]. Deterministic for a given N, so runs are comparable.
"""
import json
import os
import random
import sys

KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
         "ReplicationController"]
API = {"Pod": "v1", "ReplicationController": "v1", "Job": "batch/v1", "CronJob": "batch/v1"}

# (name, securityContext fragment). Weights make most files flawed in some way.
CAPS = [
    ("none", None),
    ("drop-all", {"capabilities": {"drop": ["ALL"]}}),
    ("drop-net-raw", {"capabilities": {"drop": ["NET_RAW"]}}),
    ("drop-all-add-bind", {"capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}}),
    ("add-sys-admin", {"capabilities": {"add": ["SYS_ADMIN"]}}),
    ("drop-all-add-sys-admin", {"capabilities": {"drop": ["ALL"], "add": ["SYS_ADMIN"]}}),
    ("add-net-admin-raw", {"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}}),
    ("drop-all-add-net-raw", {"capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]}}),
    ("add-chown", {"capabilities": {"add": ["CHOWN"]}}),
    ("empty-caps", {"capabilities": {}}),
    ("privileged", {"privileged": True}),
    ("add-ptrace-drop-raw", {"capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}}),
]


def container(rng, i, truth):
    name, sc = rng.choice(CAPS)
    c = {"name": f"c{i}", "image": f"registry.example.com/app/{name}:{rng.randint(1, 9)}"}
    sc = json.loads(json.dumps(sc)) if sc else None
    if rng.random() < 0.4:
        sc = sc or {}
        sc["allowPrivilegeEscalation"] = rng.random() >= 0.8
    if rng.random() < 0.3:
        sc = sc or {}
        sc["runAsUser"] = rng.choice([0, 1000, 10001])
    if sc is not None:
        c["securityContext"] = sc
    truth.append({"caps": name, "no_escalation": (sc or {}).get("allowPrivilegeEscalation") is False})
    return c


def pod_spec(rng, truth):
    spec = {"containers": [container(rng, i, truth) for i in range(rng.choice([1, 1, 1, 2, 3]))]}
    if rng.random() < 0.2:
        spec["initContainers"] = [container(rng, 9, truth)]
    if rng.random() < 0.1:
        spec["securityContext"] = {"sysctls": [{"name": "net.ipv4.ping_group_range",
                                                "value": "0 2147483647"}]}
    return spec


def obj(rng, kind, n, truth):
    meta = {"name": f"w{n}", "namespace": "bench", "labels": {"app": f"w{n}"}}
    spec = pod_spec(rng, truth)
    tmpl = {"metadata": {"labels": {"app": f"w{n}"}}, "spec": spec}
    base = {"apiVersion": API.get(kind, "apps/v1"), "kind": kind, "metadata": meta}
    if kind == "Pod":
        base["spec"] = spec
    elif kind == "CronJob":
        base["spec"] = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": tmpl}}}
    elif kind == "Job":
        spec["restartPolicy"] = "Never"
        base["spec"] = {"template": tmpl}
    else:
        base["spec"] = {"selector": {"matchLabels": {"app": f"w{n}"}}, "template": tmpl}
    return base


def to_yaml(v, indent=0):
    pad = "  " * indent
    if isinstance(v, dict):
        if not v:
            return " {}\n"
        out = "\n"
        for k, x in v.items():
            out += f"{pad}{k}:{to_yaml(x, indent + 1)}"
        return out
    if isinstance(v, list):
        if not v:
            return " []\n"
        out = "\n"
        for x in v:
            body = to_yaml(x, indent + 1)
            if isinstance(x, dict) and x:
                # "- key: value" with the rest of the mapping indented under it.
                lines = body.lstrip("\n").splitlines(keepends=True)
                first = lines[0].lstrip()
                out += f"{pad}- {first}" + "".join(lines[1:])
            else:
                out += f"{pad}-{body}"
        return out
    if isinstance(v, bool):
        return " " + ("true" if v else "false") + "\n"
    if isinstance(v, int):
        return f" {v}\n"
    return " " + json.dumps(v) + "\n"


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rng = random.Random(42)
    os.makedirs(out, exist_ok=True)
    # Which capability variant each container got, per file: lets the comparison explain
    # every disagreement instead of guessing. Written next to the corpus, not inside it.
    truth = {}
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        variants = []
        o = obj(rng, kind, i, variants)
        name = f"m{i:05d}.json" if i % 10 == 9 else f"m{i:05d}.yaml"
        truth[name] = variants
        if i % 10 == 9:
            with open(os.path.join(out, name), "w") as f:
                json.dump(o, f, indent=2)
            continue
        text = to_yaml(o).lstrip("\n")
        if i % 7 == 0:
            # Helm-style: a Service in front, in the same multi-document file.
            svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"w{i}"},
                   "spec": {"ports": [{"port": 80}], "selector": {"app": f"w{i}"}}}
            text = to_yaml(svc).lstrip("\n") + "---\n" + text
        with open(os.path.join(out, name), "w") as f:
            f.write(text)
    with open(out.rstrip("/") + ".truth.json", "w") as f:
        json.dump(truth, f)


if __name__ == "__main__":
    main()
