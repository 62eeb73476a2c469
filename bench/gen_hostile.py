#!/usr/bin/env python3
"""Writes the hostile inputs of bench/hostile.sh into DIR (deterministic).

Each file is one row of the bounds table in README ("Bounds"): the largest input of its kind
that dropcap must handle in bounded time and memory.
"""
import json
import sys

out = sys.argv[1]


def pod(i):
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"web-{i:05d}-7d9c8b5f6-abcde", "namespace": f"ns{i % 40}",
                     "labels": {"app": "web", "pod-template-hash": "7d9c8b5f6"},
                     "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-30T00:00:00Z"},
                     "uid": f"0000{i:08d}-aaaa-bbbb-cccc-dddddddddddd"},
        "spec": {"containers": [{
            "name": "web", "image": "registry.example.com/web:1.2.3",
            "ports": [{"containerPort": 8080, "protocol": "TCP"}],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}} if i % 3 == 0 else {
                "capabilities": {"drop": ["ALL"]}, "allowPrivilegeEscalation": False},
            "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/x",
                              "readOnly": True}]}],
            "nodeName": f"node-{i % 50}", "restartPolicy": "Always",
            "serviceAccountName": "default"},
        "status": {"phase": "Running", "podIP": f"10.1.{i // 250 % 250}.{i % 250}",
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def write(name, text):
    with open(f"{out}/{name}", "w") as f:
        f.write(text)


# 1. `kubectl get pods -o json` minified to one line.
write("pods-minified.json", json.dumps({"apiVersion": "v1", "kind": "List",
                                        "items": [pod(i) for i in range(12000)]},
                                       separators=(",", ":")))
# 2. 6,000 compose services adding 4 capabilities each (run with --format sarif).
lines = ["services:"]
for i in range(6000):
    lines += [f"  s{i}:", "    image: registry.example.com/app:1", "    cap_add:",
              "      - NET_ADMIN", "      - SYS_ADMIN", "      - SYS_PTRACE", "      - SYS_TIME"]
write("compose-6000.yaml", "\n".join(lines) + "\n")
# 3. A 1 MiB string behind an anchor, aliased by 400 services.
lines = ["x-big: &big " + "a" * (1 << 20), "services:"]
for i in range(400):
    lines += [f"  s{i}:", "    image: *big", "    cap_add: [NET_ADMIN]"]
write("alias-string.yaml", "\n".join(lines) + "\n")
# 4. One suppression comment with 20,000 rule ids and a long reason.
ids = ",".join(f"DC{i:03d}" for i in range(20000))
write("suppress-many.yaml", "services:\n  # dropcap:ignore " + ids + " " + "because " * 20000
      + "\n  web:\n    image: x\n    cap_add: [NET_ADMIN]\n")
# 5. 2.9 million list items (about 11.6 MB).
write("list-items.yaml", "x:\n" + "- 1\n" * 2_900_000)
