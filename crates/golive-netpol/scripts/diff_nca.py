#!/usr/bin/env python3
"""Differential test: golive-netpol vs IBM network-config-analyzer (nca) on random cases.

Dev tool only: never a dependency, never run by the test suite.

    python3 -m venv /tmp/nca-venv && /tmp/nca-venv/bin/pip install network-config-analyzer
    cargo build --release -p golive-netpol --example netpol_matrix
    python3 crates/golive-netpol/scripts/diff_nca.py --nca /tmp/nca-venv/bin/nca --cases 200

Known nca differences (see docs/netpol.md): `egress: []` without policyTypes (avoided
unless --known-divergences) and Exists/DoesNotExist in peer podSelectors (use
--rewrite-exists to hand nca an equivalent In/NotIn form).

Cases use workloads only (no pod IPs), three namespaces that are not kube-system (nca
adds simulated DNS/ingress pods when policies reference missing ones), and compare every
ordered pair of distinct workloads on a fixed set of ports.
"""
import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

PORTS = ["80/TCP", "53/UDP", "8080/TCP", "8050/TCP", "9/SCTP", "5353/UDP"]
NAMESPACES = ["ns0", "ns1", "ns2"]
KNOWN_DIVERGENCES = False


def selector(r):
    return r.choice([
        {},
        {"matchLabels": {"app": r.choice("abc")}},
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["one"]}]},
        {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["a"]},
                              {"key": "tier", "operator": "Exists"}]},
        {"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
    ])


def ns_selector(r):
    return r.choice([
        {},
        {"matchLabels": {"kubernetes.io/metadata.name": r.choice(NAMESPACES)}},
        {"matchLabels": {"team": "x"}},
        {"matchLabels": {"name": "ns1"}},
    ])


def peer(r):
    kind = r.randrange(4)
    if kind == 0:
        return {"podSelector": selector(r)}
    if kind == 1:
        return {"namespaceSelector": ns_selector(r)}
    if kind == 2:
        return {"namespaceSelector": ns_selector(r), "podSelector": selector(r)}
    return {"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}


def port(r):
    return r.choice([
        {"port": 80},
        {"protocol": "UDP", "port": 53},
        {"port": "http"},
        {"protocol": "UDP", "port": "dns"},
        {"port": 8000, "endPort": 8100},
        {"protocol": "UDP"},
        {"protocol": "SCTP"},
    ])


def rule(r, direction):
    out = {}
    if r.random() < 0.8:
        out["to" if direction == "egress" else "from"] = [peer(r) for _ in range(r.randint(1, 2))]
    if r.random() < 0.7:
        out["ports"] = [port(r) for _ in range(r.randint(1, 2))]
    return out


def case(r):
    docs = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns0", "labels": {"team": "x"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns1"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns2"}},
    ]
    for i in range(r.randint(2, 6)):
        labels = {}
        if r.random() < 0.8:
            labels["app"] = r.choice("abc")
        if r.random() < 0.5:
            labels["tier"] = "one"
        labels["id"] = f"w{i}"
        ports = [{"name": "http", "containerPort": 8080}] if r.random() < 0.5 else \
            [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]
        docs.append({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": f"w{i}", "namespace": r.choice(NAMESPACES)},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"id": f"w{i}"}},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "x", "ports": ports}]}}},
        })
    for i in range(r.randint(0, 5)):
        spec = {"podSelector": selector(r)}
        types = []
        for direction in ("ingress", "egress"):
            if r.random() < 0.6:
                types.append(direction.capitalize())
                if r.random() < 0.8:
                    spec[direction] = [rule(r, direction) for _ in range(r.randint(0, 2))]
        if types and r.random() < 0.7:
            spec["policyTypes"] = types
        elif spec.get("egress") == [] and not KNOWN_DIVERGENCES:
            # nca treats `egress: []` without policyTypes as an Egress policy; the API
            # server defaults policyTypes to [Ingress] unless len(egress) != 0.
            del spec["egress"]
        docs.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                     "metadata": {"name": f"p{i}", "namespace": r.choice(NAMESPACES)}, "spec": spec})
    return docs


def parse_ports(text):
    """nca connection text -> predicate(port, protocol)."""
    text = text.strip()
    if text == "All connections":
        return lambda p, proto: True
    if text == "No connections":
        return lambda p, proto: False
    sets = []
    for part in re.findall(r"\{([^}]*)\}", text):
        protos = re.search(r"protocols:([A-Z, ]+?)(?:,[a-z_]+:|$)", part)
        dports = re.search(r"dst_ports:([0-9,\-]+)", part)
        proto_set = {x.strip() for x in protos.group(1).split(",")} if protos else None
        ranges = []
        if dports:
            for item in dports.group(1).split(","):
                if "-" in item:
                    a, b = item.split("-")
                    ranges.append((int(a), int(b)))
                elif item:
                    ranges.append((int(item), int(item)))
        sets.append((proto_set, ranges))

    def allowed(p, proto):
        for proto_set, ranges in sets:
            if proto_set is not None and proto not in proto_set:
                continue
            if not ranges or any(a <= p <= b for a, b in ranges):
                return True
        return False
    return allowed


def rewrite_exists(docs):
    """Exists/DoesNotExist on `tier` in peer podSelectors as In/NotIn [one] (equivalent
    here: `tier` only ever has the value one). nca mis-evaluates the former."""
    def fix(sel):
        for e in (sel or {}).get("matchExpressions") or []:
            if e["key"] == "tier" and e["operator"] == "Exists":
                e["operator"], e["values"] = "In", ["one"]
            elif e["key"] == "tier" and e["operator"] == "DoesNotExist":
                e["operator"], e["values"] = "NotIn", ["one"]
    for d in docs:
        if d["kind"] != "NetworkPolicy":
            continue
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for r in d["spec"].get(direction) or []:
                for p in r.get(key) or []:
                    fix(p.get("podSelector"))
    return docs


def run_nca(nca, path):
    out = subprocess.run([nca, "--connectivity", "-r", path, "--output_format", "txt_no_fw_rules"],
                         capture_output=True, text=True, timeout=300)
    conns = {}
    for line in out.stdout.splitlines():
        m = re.match(r"^(\S+)\[\w+\] => (\S+)\[\w+\] : (.*)$", line)
        if m:
            # nca may print several lines for one pair; they add up.
            key = (m.group(1), m.group(2))
            new, old = parse_ports(m.group(3)), conns.get(key)
            conns[key] = new if old is None else (lambda p, proto, a=old, b=new: a(p, proto) or b(p, proto))
    return conns, out.stdout


def run_golive(binary, path):
    out = subprocess.run([binary, ",".join(PORTS), path], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    return data["endpoints"], {tuple(t) for t in data["allowed"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nca", default="nca")
    ap.add_argument("--golive", default="target/release/examples/netpol_matrix")
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the YAML of disagreeing cases")
    ap.add_argument("--known-divergences", action="store_true",
                    help="also generate `egress: []` without policyTypes, where nca differs from Kubernetes")
    ap.add_argument("--rewrite-exists", action="store_true",
                    help="give nca In/NotIn instead of Exists/DoesNotExist in peer podSelectors "
                         "(nca mis-evaluates them; golive still gets the original)")
    args = ap.parse_args()
    global KNOWN_DIVERGENCES
    KNOWN_DIVERGENCES = args.known_divergences
    import yaml  # installed with nca
    disagreements = 0
    compared = 0
    skipped = 0
    for c in range(args.cases):
        r = random.Random(args.seed * 100003 + c)
        docs = case(r)
        fd, path = tempfile.mkstemp(suffix=".yaml")
        with os.fdopen(fd, "w") as f:
            yaml.safe_dump_all(docs, f)
        nca_path = path
        if args.rewrite_exists:
            import copy
            nca_path = path.replace(".yaml", "-nca.yaml")
            with open(nca_path, "w") as f:
                yaml.safe_dump_all(rewrite_exists(copy.deepcopy(docs)), f)
        nca_conns, raw = run_nca(args.nca, nca_path)
        if nca_path != path:
            os.unlink(nca_path)
        if "Error" in raw or not raw.strip():
            skipped += 1
            print(f"case {c}: nca failed, skipped ({path}): {raw.strip()[:200]}")
            continue
        endpoints, allowed = run_golive(args.golive, path)
        bad = []
        for s in endpoints:
            for t in endpoints:
                if s == t:
                    continue
                for p in PORTS:
                    num, proto = p.split("/")
                    ours = (s, t, p) in allowed
                    pred = nca_conns.get((s, t))
                    theirs = bool(pred and pred(int(num), proto))
                    compared += 1
                    if ours != theirs:
                        bad.append(f"  {s} -> {t} {p}: golive {ours}, nca {theirs}")
        if bad:
            disagreements += 1
            print(f"case {c}: {len(bad)} disagreements ({path})")
            print("\n".join(bad[:10]))
            if not args.keep:
                os.unlink(path)
        else:
            os.unlink(path)
    print(f"{args.cases} cases ({skipped} skipped), {compared} (pair, port) answers compared, "
          f"{disagreements} cases disagree")
    sys.exit(1 if disagreements else 0)


if __name__ == "__main__":
    main()
