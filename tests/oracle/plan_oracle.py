#!/usr/bin/python3
"""Independent check of sp's plan: replicate IDs and seed streams recomputed in Python from the
rules written in sweeps/README.md, the plan of sweeps/paper.toml compared with the plan of a
copy whose tables, keys, axes and variants are written in reverse order, and the pairing of
al.init = "baseline" replicates with their baselines.

usage: plan_oracle.py SP_SWEEP SOURCE_DIR
"""
import hashlib
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

M = (1 << 64) - 1
TAGS = {"seed_pool": 1, "seed_init": 2, "seed_data": 3, "seed_dropout": 4, "seed_tsne": 5}
# Keys that are not part of a replicate's identity (sweeps/README.md, "Replicate IDs").
NOT_IN_ID = {"dataset.root", "dataset.cache", "model.pretrained", "train.checkpoint_every",
             "train.eval_every",
             "al.save_pool_outputs", "output.dir", "output.compression", "output.save_embeddings"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def splitmix64(x):
    z = (x + 0x9E3779B97F4A7C15) & M
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    return z ^ (z >> 31)


def mix(a, b):
    return splitmix64(a ^ splitmix64(b))


def toml_float(v):
    for p in range(1, 18):
        s = "%.*g" % (p, v)
        if float(s) == v:
            break
    if not any(c in s for c in ".en"):
        s += ".0"
    return s


def toml_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\t", "\\t").replace("\r", "\\r") + '"'


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return toml_float(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def flatten(table, prefix=""):
    out = {}
    for k, v in table.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        else:
            out[key] = v
    return out


def effective(keys):
    """train.device and train.precision as run (sweeps/README.md, item 2): the plan resolves
    "auto" to the CPU, and the CPU runs fp16 as fp32."""
    device = "cuda" if keys["train.device"] == "cuda" else "cpu"
    precision = "fp32" if device == "cpu" and keys["train.precision"] == "fp16" else \
        keys["train.precision"]
    return dict(keys, **{"train.device": device, "train.precision": precision})


def weights_id(path):
    """sweeps/README.md, item 3: "sha256:" and the SHA-256 of the file's bytes; "" without
    weights; the file name alone when the file is absent (a dry run's provisional ID)."""
    if path == "":
        return ""
    if Path(path).is_file():
        return "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return Path(path).name


def resolved_keys(resolved):
    """The flattened, effective keys and the [sweep] table of a --show-config text."""
    doc = tomllib.loads(resolved)
    sweep = doc.pop("sweep")
    doc.pop("analysis", None)  # --show-config appends the sweep's [analysis]: not in the ID
    return effective(flatten(doc)), sweep


def starts_from_baseline(keys):
    """sweeps/README.md, "Starting from the baseline": al.init = "baseline" acts on
    active-learning strategies only."""
    return keys.get("al.init", "pretrained") == "baseline" and keys["al.strategy"] != "baseline"


def identity_text(resolved, baseline_id=None):
    keys, sweep = resolved_keys(resolved)
    # Keys whose type is float but whose value is integral come back from tomllib as float
    # already, since sp writes floats with a '.'; nothing to convert.
    lines = [f"{k} = {toml_value(v)}\n" for k, v in sorted(keys.items())
             if k not in NOT_IN_ID and k != "al.init"
             and not (k == "metrics.tsne.compat" and v == "sp")
             and not (k == "metrics.tsne.init" and v == "pca")
             and not (k == "al.pool_subset" and v == 0)]
    lines.append("model.pretrained = " + toml_string(weights_id(keys["model.pretrained"])) + "\n")
    if starts_from_baseline(keys):
        lines.append('al.init = "baseline"\n')
    lines.sort()
    text = "".join(lines) + f"sweep.seed = {sweep['seed']}\n"
    if starts_from_baseline(keys):
        text += f"al.init_baseline = {toml_string(baseline_id)}\n"
    return text + f"replicate.seed = {sweep['seeds'][0]}\n"


def expected_id(resolved, baseline_id=None):
    return hashlib.sha256(identity_text(resolved, baseline_id).encode()).hexdigest()[:16]


def check_ids(sp_sweep, path, rows, *extra):
    """The documented identity text, hashed by hashlib, for a spread of replicates."""
    for row in rows[::7] + rows[-1:]:
        resolved = subprocess.run([sp_sweep, str(path), "--show-config", row["id"], *extra],
                                  check=True, capture_output=True, text=True).stdout
        # A replicate that starts from its baseline names that baseline's ID (the pairing itself
        # is checked below).
        want = expected_id(resolved, row.get("baseline") or None)
        check(row["id"] == want, f"replicate {row['index']} {extra}: sp ID {row['id']}, oracle {want}")


def plan_tsv(sp_sweep, path, *extra):
    out = subprocess.run([sp_sweep, str(path), "--dry-run", "--format", "tsv", *extra],
                         check=True, capture_output=True, text=True).stdout
    lines = out.strip().split("\n")
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:]]


def dump_reversed(doc):
    """TOML text of `doc` with every table's keys and every array of tables in reverse order."""
    out = []

    def scalar_items(t):
        return [(k, v) for k, v in reversed(list(t.items()))
                if not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], dict))]

    def emit_inline(t, prefix=""):
        for k, v in reversed(list(t.items())):
            if isinstance(v, dict):
                emit_inline(v, prefix + k + ".")
            else:
                out.append(f"{prefix}{k} = {toml_value(v)}")

    def emit(t, path):
        for k, v in scalar_items(t):
            out.append(f'"{k}" = {toml_value(v)}' if "." in k else f"{k} = {toml_value(v)}")
        for k, v in reversed(list(t.items())):
            sub = path + [k]
            if isinstance(v, dict):
                out.append("[" + ".".join(sub) + "]")
                emit(v, sub)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for entry in reversed(v):
                    out.append("[[" + ".".join(sub) + "]]")
                    emit_inline(entry)

    emit(doc, [])
    return "\n".join(out) + "\n"


def main():
    sp_sweep, source = sys.argv[1], Path(sys.argv[2])
    paper = source / "sweeps" / "paper.toml"
    rows = plan_tsv(sp_sweep, paper)
    check(len(rows) == 60, f"paper.toml: {len(rows)} replicates, expected 2 x 3 x 10 = 60")
    sweep_seed = tomllib.loads(paper.read_text())["sweep"]["seed"]

    # [[sweep.rules]] (sweeps/README.md, "Rules that depend on the axes"): a rule's keys on the
    # replicates whose axis labels match its `when`, over the base value. paper.toml's one rule
    # leaves the CIFAR-10 baseline unshuffled and every Tiny ImageNet replicate shuffled.
    doc = tomllib.loads(paper.read_text())
    shuffled = {}
    for row in rows[::3] + [r for r in rows if r["strategy"] == "baseline"]:
        want = flatten(doc).get("train.shuffle", True)
        for rule in doc["sweep"].get("rules", []):
            sets = flatten({k: v for k, v in rule.items() if k != "when"})
            when = flatten(rule["when"])
            if "train.shuffle" in sets and all(
                    row.get("axis:" + a) == (l if isinstance(l, str) else toml_value(l))
                    for a, l in when.items()):
                want = sets["train.shuffle"]
        resolved = subprocess.run([sp_sweep, str(paper), "--show-config", row["id"]],
                                  check=True, capture_output=True, text=True).stdout
        got = resolved_keys(resolved)[0]["train.shuffle"]
        check(got == want, f"{row['id']} {row['dataset']}/{row['strategy']}: train.shuffle "
                           f"{got}, the rules say {want}")
        shuffled[(row["dataset"], row["strategy"])] = got
    check(shuffled.get(("cifar10", "baseline")) is False, "the CIFAR-10 baseline shuffles")
    check(shuffled.get(("tiny-imagenet", "baseline")) is True,
          "the Tiny ImageNet baseline does not shuffle (its images are stored class by class)")

    # Seeds: the documented derivation, stream by stream.
    for row in rows:
        root = mix(sweep_seed, int(row["seed"]))
        for col, tag in TAGS.items():
            want = 42 if col == "seed_tsne" else mix(root, tag)  # paper.toml fixes t-SNE's seed
            check(int(row[col]) == want, f"{row['id']} {col}: sp {row[col]}, oracle {want}")

    # IDs: paper.toml says precision fp16 on device cuda; the same replicates with
    # train.device = "auto" (cpu at plan time) or "cpu" run as cpu + fp32, hence other IDs.
    check_ids(sp_sweep, paper, rows)
    for device in ("auto", "cpu"):
        other = ("--set", f"train.device={device}")
        on_cpu = plan_tsv(sp_sweep, paper, *other)
        check_ids(sp_sweep, paper, on_cpu, *other)
        check(not {r["id"] for r in rows} & {r["id"] for r in on_cpu},
              f"a CUDA fp16 replicate shares an ID with its train.device={device} (cpu fp32) run")

    # Weights by content: a copy under another name plans the same IDs, a file that differs in
    # one byte other IDs; without the file a run refuses (exit 2, naming key and path).
    with tempfile.TemporaryDirectory() as tmp:
        data = bytes(range(256)) * 64
        a, b, c = Path(tmp) / "a.pt", Path(tmp) / "renamed.bin", Path(tmp) / "changed.pt"
        a.write_bytes(data)
        b.write_bytes(data)
        c.write_bytes(data[:100] + bytes([data[100] ^ 1]) + data[101:])
        by = {p: plan_tsv(sp_sweep, paper, "--set", f"model.pretrained={p}") for p in (a, b, c)}
        check_ids(sp_sweep, paper, by[a], "--set", f"model.pretrained={a}")
        ids = {p: [r["id"] for r in rows_] for p, rows_ in by.items()}
        check(ids[a] == ids[b], "a renamed copy of the weights changed the IDs")
        check(not set(ids[a]) & set(ids[c]), "a one-byte change of the weights kept an ID")
        check(not set(ids[a]) & {r["id"] for r in rows},
              "IDs by content equal the provisional IDs by file name")
        none = plan_tsv(sp_sweep, paper, "--set", "model.pretrained=")
        check_ids(sp_sweep, paper, none, "--set", "model.pretrained=")
        absent = Path(tmp) / "absent.pt"
        run = subprocess.run([sp_sweep, str(paper), "--set", f"model.pretrained={absent}",
                              "--set", f"output.dir={tmp}/out"], capture_output=True, text=True)
        check(run.returncode == 2 and "model.pretrained" in run.stderr and str(absent) in run.stderr,
              f"a run without its weights file: exit {run.returncode}, stderr {run.stderr!r}")

    # Order independence: the same sweep written backwards plans the same replicates.
    with tempfile.TemporaryDirectory() as tmp:
        reordered = Path(tmp) / "paper.toml"
        reordered.write_text(dump_reversed(tomllib.loads(paper.read_text())))
        again = plan_tsv(sp_sweep, reordered)
        key = lambda r: {k: v for k, v in r.items() if k not in ("index", "rank")}
        check(sorted(map(str, map(key, rows))) == sorted(map(str, map(key, again))),
              "reordered paper.toml plans different replicates")

    # Reruns and rank counts: identical IDs and seeds.
    rerun = plan_tsv(sp_sweep, paper, "--ranks", "5")
    strip = lambda rs: [{k: v for k, v in r.items() if k != "rank"} for r in rs]
    check(strip(rows) == strip(rerun), "a rerun with 5 ranks changed IDs or seeds")

    # al.init = "baseline" (sweeps/README.md, "Starting from the baseline"): the baselines keep
    # their IDs; each active-learning replicate is paired with the baseline of its seed whose
    # settings but al.* and train.shuffle equal its own, and its ID names that baseline's ID.
    # paper.toml says al.init = "baseline"; the same sweep with "pretrained" is the reference.
    init = ("--set", "al.init=baseline")
    dep = plan_tsv(sp_sweep, paper, *init)
    pretrained = plan_tsv(sp_sweep, paper, "--set", "al.init=pretrained")
    # A spread of active-learning replicates, and every baseline of their seeds.
    sample = [r for r in dep if r["strategy"] != "baseline"][::4]
    seeds = {r["seed"] for r in sample}
    wanted = sample + [r for r in dep if r["strategy"] == "baseline" and r["seed"] in seeds]
    resolved = {r["id"]: subprocess.run([sp_sweep, str(paper), "--show-config", r["id"], *init],
                                        check=True, capture_output=True, text=True).stdout
                for r in wanted}
    keys = {rid: resolved_keys(text)[0] for rid, text in resolved.items()}

    def context(k):
        return {key: v for key, v in k.items()
                if not key.startswith("al.") and key != "train.shuffle" and key not in NOT_IN_ID} | \
            {"model.pretrained": weights_id(k["model.pretrained"])}

    pairs = 0
    for old_row, row in zip(pretrained, dep):
        if row["id"] not in keys:
            check(row["strategy"] == "baseline" or row["id"] != old_row["id"],
                  f"{row['id']}: al.init = baseline kept the ID")
            continue
        k = keys[row["id"]]
        if k["al.strategy"] == "baseline":
            check(row["id"] == old_row["id"], f"al.init changed baseline {old_row['id']}'s ID")
            check(row["baseline"] == "", f"baseline {row['id']} names a baseline")
            check(row["id"] == expected_id(resolved[row["id"]]), f"baseline {row['id']}: oracle ID")
            continue
        found = [b for b in dep if b["id"] in keys and keys[b["id"]]["al.strategy"] == "baseline"
                 and b["seed"] == row["seed"] and context(keys[b["id"]]) == context(k)]
        check(len(found) == 1, f"{row['id']}: {len(found)} baselines qualify, expected 1")
        if len(found) != 1:
            continue
        pairs += 1
        b = found[0]["id"]
        check(row["baseline"] == b, f"{row['id']}: sp pairs it with {row['baseline']!r}, oracle {b}")
        want = expected_id(resolved[row["id"]], b)
        check(row["id"] == want, f"{row['id']} (al.init = baseline): oracle ID {want}")
        check(row["id"] != old_row["id"], f"{row['id']}: al.init = baseline kept the ID")
        check(f"baseline replicate {b}" in resolved[row["id"]],
              f"{row['id']}: --show-config does not name its baseline")
    check(pairs == len(sample), f"{pairs} active-learning replicates paired, expected {len(sample)}")
    check(all(r["id"] == o["id"] for r, o in zip(dep, pretrained) if r["strategy"] == "baseline"),
          "al.init = baseline changed a baseline's ID")
    # Without a baseline in the sweep, the plan is refused, naming the replicate and the rule.
    alone = subprocess.run([sp_sweep, str(paper), "--dry-run", *init,
                            "--set", "al.strategy=least_confidence"], capture_output=True, text=True)
    check(alone.returncode == 2 and "al.init" in alone.stderr and "replicate #1 " in alone.stderr
          and 'no replicate with al.strategy = "baseline"' in alone.stderr,
          f"a sweep without baselines: exit {alone.returncode}, stderr {alone.stderr[:400]!r}")

    for f in failures:
        print("FAIL:", f)
    print(f"plan oracle: {len(rows)} replicates, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
