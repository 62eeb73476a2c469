#!/usr/bin/env python3
"""Writes what `kubectl get pods -A -o json` prints for a large cluster: a `List` of N pods,
pretty-printed with kubectl's 4-space indent, each pod as the API server returns it (metadata
with labels, annotations and owner references, a full spec with service-account volumes and
tolerations, and a full status) -- about 5 KB a pod.

    gen_cluster.py PODS [--yaml] > pods.json

The mix follows a real cluster: mostly Deployment replicas with no securityContext, a
DaemonSet for the CNI (NET_ADMIN, NET_RAW, hostNetwork), kube-proxy (privileged), some pods
that drop ALL, some running as root with extra capabilities. Deterministic for a given N.
"""
import json
import random
import sys


def container(name, image, sc, ports):
    c = {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": p, "name": f"p{p}", "protocol": "TCP"} for p in ports],
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}},
            {"name": "LOG_LEVEL", "value": "info"},
        ],
        "resources": {
            "limits": {"cpu": "500m", "memory": "256Mi"},
            "requests": {"cpu": "100m", "memory": "128Mi"},
        },
        "livenessProbe": {
            "failureThreshold": 3,
            "httpGet": {"path": "/healthz", "port": ports[0] if ports else 8080, "scheme": "HTTP"},
            "periodSeconds": 10,
            "successThreshold": 1,
            "timeoutSeconds": 1,
        },
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "volumeMounts": [
            {"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": "kube-api-access-x7k2p", "readOnly": True}
        ],
    }
    if sc is not None:
        c["securityContext"] = sc
    return c


def status(i, names):
    t = "2026-11-%02dT%02d:%02d:%02dZ" % (1 + i % 28, i % 24, i % 60, (i * 7) % 60)
    return {
        "conditions": [
            {"lastProbeTime": None, "lastTransitionTime": t, "status": "True", "type": k}
            for k in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
        "containerStatuses": [
            {
                "containerID": "containerd://%064x" % (i * 31 + j),
                "image": "registry.example.com/%s:1.4.%d" % (n, i % 9),
                "imageID": "registry.example.com/%s@sha256:%064x" % (n, i * 17 + j),
                "lastState": {},
                "name": n,
                "ready": True,
                "restartCount": i % 3,
                "started": True,
                "state": {"running": {"startedAt": t}},
            }
            for j, n in enumerate(names)
        ],
        "hostIP": "10.0.%d.%d" % (i % 250, (i // 250) % 250),
        "hostIPs": [{"ip": "10.0.%d.%d" % (i % 250, (i // 250) % 250)}],
        "phase": "Running",
        "podIP": "10.244.%d.%d" % (i % 250, (i // 7) % 250),
        "podIPs": [{"ip": "10.244.%d.%d" % (i % 250, (i // 7) % 250)}],
        "qosClass": "Burstable",
        "startTime": t,
    }


def pod(i, rnd):
    ns = ["default", "payments", "search", "kube-system", "monitoring", "ingress", "batch"][i % 7]
    kind = rnd.random()
    host_network = False
    pod_sc = {}
    if kind < 0.02:
        app, sc, host_network = "kube-proxy", {"privileged": True}, True
        owner = "DaemonSet"
    elif kind < 0.05:
        app = "cni-agent"
        sc = {"capabilities": {"add": ["NET_ADMIN", "NET_RAW", "SYS_MODULE"]}}
        host_network = True
        owner = "DaemonSet"
    elif kind < 0.35:
        app = "api-%d" % (i % 40)
        sc = {
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
        }
        pod_sc = {"runAsUser": 10001, "seccompProfile": {"type": "RuntimeDefault"}}
        owner = "ReplicaSet"
    elif kind < 0.40:
        app = "legacy-%d" % (i % 10)
        sc = {"capabilities": {"add": ["SYS_ADMIN", "SYS_PTRACE"]}, "runAsUser": 0}
        owner = "StatefulSet"
    else:
        app, sc, owner = "web-%d" % (i % 60), None, "ReplicaSet"
    names = [app] + (["istio-proxy"] if i % 5 == 0 else [])
    containers = [container(app, "registry.example.com/%s:1.4.%d" % (app, i % 9), sc, [8080, 9090])]
    if len(names) > 1:
        containers.append(
            container("istio-proxy", "docker.io/istio/proxyv2:1.22.3", {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsUser": 1337}, [15090])
        )
    name = "%s-%08x-%05x" % (app, i * 2654435761 % (1 << 32), i % (1 << 20))
    spec = {
        "containers": containers,
        "dnsPolicy": "ClusterFirstWithHostNet" if host_network else "ClusterFirst",
        "enableServiceLinks": True,
        "nodeName": "node-%04d" % (i % 1200),
        "preemptionPolicy": "PreemptLowerPriority",
        "priority": 0,
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": pod_sc,
        "serviceAccount": "default",
        "serviceAccountName": "default",
        "terminationGracePeriodSeconds": 30,
        "tolerations": [
            {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
            {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
        ],
        "volumes": [
            {
                "name": "kube-api-access-x7k2p",
                "projected": {
                    "defaultMode": 420,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
                        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}},
                    ],
                },
            }
        ],
    }
    if host_network:
        spec["hostNetwork"] = True
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z",
                "prometheus.io/scrape": "true",
            },
            "creationTimestamp": "2026-11-01T10:00:%02dZ" % (i % 60),
            "generateName": app + "-",
            "labels": {"app.kubernetes.io/name": app, "pod-template-hash": "%08x" % (i % 9973), "tier": "backend"},
            "name": name,
            "namespace": ns,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "blockOwnerDeletion": True,
                    "controller": True,
                    "kind": owner,
                    "name": app,
                    "uid": "%08x-1111-2222-3333-%012x" % (i % 97, i % 9973),
                }
            ],
            "resourceVersion": str(1000000 + i),
            "uid": "%08x-aaaa-bbbb-cccc-%012x" % (i, i * 7),
        },
        "spec": spec,
        "status": status(i, names),
    }


def main():
    n = int(sys.argv[1])
    rnd = random.Random(n)
    out = sys.stdout
    if "--yaml" in sys.argv:
        import yaml  # only for the YAML form

        yaml.safe_dump({"apiVersion": "v1", "items": [pod(i, rnd) for i in range(n)], "kind": "List", "metadata": {"resourceVersion": ""}}, out, sort_keys=True)
        return
    # Streamed: the whole list is never held in memory here either.
    out.write('{\n    "apiVersion": "v1",\n    "items": [\n')
    for i in range(n):
        text = json.dumps(pod(i, rnd), indent=4, sort_keys=True)
        out.write("\n".join("        " + line for line in text.split("\n")))
        out.write(",\n" if i + 1 < n else "\n")
    out.write('    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')


if __name__ == "__main__":
    main()
