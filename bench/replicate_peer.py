#!/usr/bin/python3
"""End-to-end peer of one sp replicate: the quick sweep's least-confidence replicate
(sweeps/quick.toml, al.strategy = "least_confidence") written the way the paper's notebooks do
it, in PyTorch + torchvision + scikit-learn + NumPy (Debian's /usr/bin/python3).

The same experiment as sp's replicate, not the same bits (its own seeds):
- data: Fashion-MNIST from the Debian package dataset-fashion-mnist, stratified subsets of 8000
  training and 2000 evaluation images (scikit-learn's train_test_split(stratify=...)); a
  Dataset that makes a PIL image of each item, as torchvision.datasets.FashionMNIST does, then
  Grayscale(3), ToTensor, Normalize(0.2860, 0.3530): sp's dataset.augment is false in quick.toml,
  so neither side crops or flips;
- model: ResNet18 at width 0.5 with the ImageNet stem (7x7 conv stride 2, max pool),
  32-64-128-256 channels, built from torchvision's own ResNet._make_layer and BasicBlock and
  initialised as torchvision does (src/sp/model/resnet.cpp builds the same);
- training: Adam (lr 1e-3), cross-entropy, batch 128, shuffled, 4 epochs per round, warm start
  (model and optimizer carry over); after every epoch the 2000 evaluation images are scored
  (batch 512), as sp does (train.eval_every = 1);
- active learning: 2000 labelled images drawn uniformly at random, then 3 queries of 2000 by
  least confidence (1 - max softmax) over the unlabelled rest, scored in eval mode without
  gradients in batches of 512: labelled 2000, 4000, 6000, 8000;
- metrics on the evaluation set's penultimate (avgpool, 256-d) features: the cosine histogram as
  one writes it in NumPy (unit rows, u @ u.T, the upper triangle, numpy.histogram with 50 bins on
  [-1, 1]; all, within-class and between-class pairs), scikit-learn's TSNE (Barnes-Hut,
  perplexity 30, init "pca", learning rate "auto"), silhouette_score (euclidean and cosine) and
  davies_bouldin_score on the raw features and on the t-SNE map.

usage: replicate_peer.py [--seed S] [--threads T] [--json FILE]
Prints "peer STAGE SECONDS" lines (data, train, train_eval, score, embed, metrics) and
"peer metric NAME VALUE" lines; --json writes everything, with the per-epoch history.
"""
import argparse
import gzip
import json
import math
import os
import sys
import time


def read_idx(path):
    """An IDX file (gzip) as a NumPy array, as torchvision's read_sn3_pascalvincent_tensor."""
    import numpy as np

    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--json", default="")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(a.threads)

    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torchvision.transforms as T
    from PIL import Image
    from sklearn.manifold import TSNE
    from sklearn.metrics import davies_bouldin_score, silhouette_score
    from sklearn.model_selection import train_test_split
    from threadpoolctl import threadpool_limits
    from torchvision.models.resnet import BasicBlock, ResNet

    torch.set_num_threads(a.threads)
    threadpool_limits(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    def log(msg):
        if not a.quiet:
            print(f"[peer] {msg}", file=sys.stderr, flush=True)

    class ResNet18(ResNet):
        """torchvision's resnet18 at a channel width: its _make_layer, BasicBlock, forward and
        initialisation; the ImageNet stem."""

        def __init__(self, width=0.5, num_classes=10):
            nn.Module.__init__(self)
            ch = lambda base: max(1, int(math.floor(base * width + 0.5)))  # noqa: E731
            self._norm_layer = nn.BatchNorm2d
            self.inplanes, self.dilation, self.groups, self.base_width = ch(64), 1, 1, 64
            self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(self.inplanes)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
            self.layer1 = self._make_layer(BasicBlock, ch(64), 2)
            self.layer2 = self._make_layer(BasicBlock, ch(128), 2, stride=2)
            self.layer3 = self._make_layer(BasicBlock, ch(256), 2, stride=2)
            self.layer4 = self._make_layer(BasicBlock, ch(512), 2, stride=2)
            self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
            self.fc = nn.Linear(ch(512), num_classes)
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)

    class FashionMNIST(torch.utils.data.Dataset):
        """What torchvision.datasets.FashionMNIST does per item: a PIL image, then transform."""

        def __init__(self, images, labels, transform):
            self.data, self.targets, self.transform = torch.from_numpy(images), labels, transform

        def __len__(self):
            return len(self.targets)

        def __getitem__(self, i):
            img = Image.fromarray(self.data[i].numpy(), mode="L")
            return self.transform(img), int(self.targets[i])

    stages = {}

    # --- data: read, stratified subsets, datasets --------------------------------------------
    t0 = time.perf_counter()
    x_train = read_idx(f"{a.data}/train-images-idx3-ubyte.gz")
    y_train = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64)
    x_test = read_idx(f"{a.data}/t10k-images-idx3-ubyte.gz")
    y_test = read_idx(f"{a.data}/t10k-labels-idx1-ubyte.gz").astype(np.int64)
    tr, _ = train_test_split(np.arange(len(y_train)), train_size=8000, stratify=y_train,
                             random_state=a.seed)
    ev, _ = train_test_split(np.arange(len(y_test)), train_size=2000, stratify=y_test,
                             random_state=a.seed)
    tr, ev = np.sort(tr), np.sort(ev)
    transform = T.Compose([T.Grayscale(num_output_channels=3), T.ToTensor(),
                           T.Normalize((0.2860,) * 3, (0.3530,) * 3)])
    train_set = FashionMNIST(x_train[tr], y_train[tr], transform)
    eval_set = FashionMNIST(x_test[ev], y_test[ev], transform)
    eval_loader = torch.utils.data.DataLoader(eval_set, batch_size=512, shuffle=False)
    stages["data"] = time.perf_counter() - t0
    log(f"data: 8000 + 2000 images in {stages['data']:.2f} s")

    model = ResNet18(width=0.5, num_classes=10)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def evaluate():
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in eval_loader:
                correct += (model(x).argmax(1) == y).sum().item()
        return correct / len(eval_set)

    def train_round(labelled, rnd, history):
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(train_set, labelled),
                                             batch_size=128, shuffle=True, num_workers=0)
        for epoch in range(a.epochs):
            t = time.perf_counter()
            model.train()
            loss_sum, correct, seen = 0.0, 0, 0
            for x, y in loader:
                opt.zero_grad()
                logits = model(x)
                loss = F.cross_entropy(logits, y)
                loss.backward()
                opt.step()
                loss_sum += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                seen += len(y)
            t_train = time.perf_counter() - t
            acc = evaluate()
            t_all = time.perf_counter() - t
            history.append({"round": rnd, "epoch": epoch, "labelled": len(labelled),
                            "loss": loss_sum / seen, "train_accuracy": correct / seen,
                            "eval_accuracy": acc, "train_seconds": t_train, "seconds": t_all})
            log(f"round {rnd} ({len(labelled)} labelled), epoch {epoch + 1}/{a.epochs} loss "
                f"{loss_sum / seen:.6f} eval accuracy {acc:.6f} ({t_all:.2f} s)")

    def least_confidence(pool, count):
        loader = torch.utils.data.DataLoader(torch.utils.data.Subset(train_set, pool),
                                             batch_size=512, shuffle=False)
        model.eval()
        scores = []
        with torch.no_grad():
            for x, _ in loader:
                scores.append(1 - F.softmax(model(x), dim=1).max(1).values)
        scores = torch.cat(scores).numpy()
        return np.asarray(pool)[np.argsort(-scores, kind="stable")[:count]]

    # --- active learning: rounds of training, least-confidence queries ------------------------
    sizes = [2000, 4000, 6000, 8000]
    labelled = list(rng.choice(len(train_set), size=sizes[0], replace=False))
    history, rounds = [], []
    score_s = 0.0
    for rnd, size in enumerate(sizes):
        t = time.perf_counter()
        train_round(labelled, rnd, history)
        rec = {"labelled": len(labelled), "accuracy": history[-1]["eval_accuracy"]}
        if rnd + 1 < len(sizes):
            q = time.perf_counter()
            chosen = set(labelled)
            pool = [i for i in range(len(train_set)) if i not in chosen]
            picks = least_confidence(pool, sizes[rnd + 1] - len(labelled))
            labelled = labelled + [int(i) for i in picks]
            rec["query_seconds"] = time.perf_counter() - q
            rec["queried_class_histogram"] = np.bincount(train_set.targets[picks],
                                                         minlength=10).tolist()
            score_s += rec["query_seconds"]
        rec["seconds"] = time.perf_counter() - t
        rounds.append(rec)
    stages["train"] = sum(h["seconds"] for h in history)
    stages["train_eval"] = sum(h["seconds"] - h["train_seconds"] for h in history)
    stages["score"] = score_s

    # --- embeddings of the evaluation set (penultimate features, by a forward hook) -----------
    t0 = time.perf_counter()
    feats, logits_all = [], []
    hook = model.avgpool.register_forward_hook(lambda m, i, o: feats.append(o.flatten(1)))
    model.eval()
    with torch.no_grad():
        for x, _ in eval_loader:
            logits_all.append(model(x))
    hook.remove()
    emb = torch.cat(feats).numpy()
    pred = torch.cat(logits_all).argmax(1).numpy()
    labels = eval_set.targets
    stages["embed"] = time.perf_counter() - t0

    # --- metrics --------------------------------------------------------------------------------
    t0 = time.perf_counter()
    m = {"accuracy": float((pred == labels).mean())}
    u = emb.astype(np.float64)
    norms = np.linalg.norm(u, axis=1, keepdims=True)
    u = u / np.where(norms == 0, 1, norms)
    c = np.clip(u @ u.T, -1, 1)
    iu = np.triu_indices(len(u), k=1)
    vals = c[iu]
    same = labels[iu[0]] == labels[iu[1]]
    for name, v in (("all", vals), ("within", vals[same]), ("between", vals[~same])):
        np.histogram(v, bins=50, range=(-1, 1))
        m[f"cosine_{name}_mean"] = float(v.mean())
        m[f"cosine_{name}_std"] = float(v.std())
    del c, vals, same
    tsne = TSNE(n_components=2, perplexity=30.0, init="pca", learning_rate="auto",
                random_state=a.seed, n_jobs=a.threads)
    mapped = tsne.fit_transform(emb)
    m["tsne_kl_divergence"] = float(tsne.kl_divergence_)
    for space, x in (("raw", emb), ("tsne", mapped)):
        m[f"silhouette_euclidean_{space}"] = float(silhouette_score(x, labels, metric="euclidean"))
        m[f"silhouette_cosine_{space}"] = float(silhouette_score(x, labels, metric="cosine"))
        m[f"davies_bouldin_{space}"] = float(davies_bouldin_score(x, labels))
    stages["metrics"] = time.perf_counter() - t0

    for k in ("data", "train", "train_eval", "score", "embed", "metrics"):
        print(f"peer {k} {stages[k]:.3f}")
    for k, v in m.items():
        print(f"peer metric {k} {v:.6f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"seed": a.seed, "threads": a.threads, "stages": stages, "metrics": m,
                       "rounds": rounds, "history": history,
                       "parameters": sum(p.numel() for p in model.parameters()),
                       "torch": torch.__version__}, f, indent=1)


if __name__ == "__main__":
    sys.exit(main())
