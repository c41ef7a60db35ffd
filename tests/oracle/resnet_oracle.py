#!/usr/bin/env python3
"""torchvision's side of tests/oracle/test_resnet_parity.cpp (Debian's /usr/bin/python3).

    resnet_oracle.py make DIR     writes into DIR:
        init_seed7.pt        dict(resnet18(num_classes=10).state_dict()) after torch.manual_seed(7)
        imagenet_weights.pt  that model with random BN statistics and affine terms (plain dict)
        imagenet_ordered.pth the same, saved as torchvision publishes it (an OrderedDict)
        imagenet_io.pt       inputs, eval-mode and train-mode outputs, buffers after train mode;
                             in eval mode also "eval<i>.extra.<entry>" for each model.extra_layers
                             entry of EXTRA, from forward hooks (and the notebook's CIFAR
                             feature computed as the notebook does), and, for the last input
                             (the notebook's 32 x 32 CIFAR shape), "notebook.labels" and
                             "notebook.cosine.*": that feature's cosine statistics by
                             scikit-learn
        cifar_weights.pt, cifar_io.pt   the same for the CIFAR stem (3x3/1 conv1, no max pool)
    resnet_oracle.py names
        prints torchvision resnet18's named_modules(), one per line
    resnet_oracle.py check SP_FILE REFERENCE
        torch.load(SP_FILE) must be a plain dict that resnet18(num_classes=10) accepts with
        load_state_dict(strict=True), its tensors equal to REFERENCE's. Prints "ok".
"""

import sys

import torch
import torchvision

NUM_CLASSES = 10
NOTEBOOK = "notebook:layer4.1.conv2"
# model.extra_layers entries checked against forward hooks: sub-modules whose output a later
# in-place op overwrites (bn1 by the relu, bn2 by the residual sum), pooled and flattened.
EXTRA = [
    "layer3",
    "layer4.1.conv2",
    "layer4.1.conv2:flatten",
    "layer4.1.bn2",
    "layer4.1.bn2:flatten",
    "layer3.0.bn1:flatten",
    "layer2.1:pool",
    "layer4.0.downsample.0",
    "layer4.0.downsample:flatten",
    "bn1",
    NOTEBOOK,
]


def plain(state_dict):
    return {k: v.detach().clone() for k, v in state_dict.items()}


def randomise(model, seed):
    # Non-trivial BN statistics and affine terms, so that eval mode tests more than identity BN.
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
                m.num_batches_tracked.fill_(7)


def outputs(model, x, prefix, out):
    taps = {}
    hooks = [
        model.avgpool.register_forward_hook(lambda m, i, o: taps.update(avgpool=o.flatten(1))),
        model.layer3.register_forward_hook(
            lambda m, i, o: taps.update(layer3=torch.nn.functional.adaptive_avg_pool2d(o, 1)
                                        .flatten(1))),
    ]
    out[prefix + "logits"] = model(x).detach().clone()
    out[prefix + "features"] = taps["avgpool"].detach().clone()
    out[prefix + "layer3"] = taps["layer3"].detach().clone()
    for h in hooks:
        h.remove()


def notebook_feature(model, x):
    """The notebook's CIFAR cosine feature, computed as the notebook does: a hook on
    layer4[1].conv2, the network up to layer4, then the last block once more; the hook's last
    capture (the second pass's conv2 output, before bn2 and relu), flattened."""
    captured = []
    hook = model.layer4[1].conv2.register_forward_hook(lambda m, i, o: captured.append(o))
    y = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    y = model.layer4(model.layer3(model.layer2(model.layer1(y))))
    model.layer4[1](y)
    hook.remove()
    assert len(captured) == 2
    return captured[-1].view(x.size(0), -1).detach().clone()


def extra_outputs(model, x, prefix, out):
    """Each EXTRA entry from a forward hook on its module (a clone: later in-place ops would
    change the hooked tensor), reduced as the entry says."""
    taps = {}
    hooks = {}
    for entry in EXTRA:
        if entry == NOTEBOOK:
            continue
        module, _, reduction = entry.partition(":")

        def keep(m, i, o, module=module):
            taps[module] = o.detach().clone()

        if module not in hooks:
            hooks[module] = model.get_submodule(module).register_forward_hook(keep)
    model(x)
    for h in hooks.values():
        h.remove()
    for entry in EXTRA:
        if entry == NOTEBOOK:
            out[prefix + "extra." + entry] = notebook_feature(model, x)
            continue
        module, _, reduction = entry.partition(":")
        t = taps[module]
        if reduction == "flatten":
            out[prefix + "extra." + entry] = t.flatten(1).clone()
        else:
            out[prefix + "extra." + entry] = torch.nn.functional.adaptive_avg_pool2d(t, 1).flatten(1)


def notebook_cosine(features, labels, out):
    """The paper's statistic on the notebook feature: scikit-learn's cosine_similarity over the
    full N x N matrix (diagonal included), and the unique pairs, within and between classes."""
    from sklearn.metrics.pairwise import cosine_similarity
    import numpy as np

    f = features.double().numpy()
    c = cosine_similarity(f)
    y = labels.numpy()
    iu = np.triu_indices(len(f), k=1)
    same = y[iu[0]] == y[iu[1]]
    pairs = c[iu]
    stats = {
        "full_mean": c.mean(),
        "full_std": c.std(),
        "all_mean": pairs.mean(),
        "all_std": pairs.std(),
        "all_min": pairs.min(),
        "all_max": pairs.max(),
        "within_mean": pairs[same].mean(),
        "between_mean": pairs[~same].mean(),
    }
    for k, v in stats.items():
        out["notebook.cosine." + k] = torch.tensor(float(v), dtype=torch.float64)
    out["notebook.labels"] = labels


def case(model, name, shapes, directory, seed):
    randomise(model, seed)
    model.eval()
    torch.save(plain(model.state_dict()), f"{directory}/{name}_weights.pt")
    if name == "imagenet":
        torch.save(model.state_dict(), f"{directory}/{name}_ordered.pth")
    io = {}
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for i, shape in enumerate(shapes):
            io[f"x{i}"] = torch.randn(shape, generator=g)
            outputs(model, io[f"x{i}"], f"eval{i}.", io)
            extra_outputs(model, io[f"x{i}"], f"eval{i}.", io)
        if name == "imagenet":
            last = len(shapes) - 1
            labels = torch.arange(shapes[last][0], dtype=torch.int64) % 3
            notebook_cosine(io[f"eval{last}.extra.{NOTEBOOK}"], labels, io)
    # Train mode: BN normalises with batch statistics and updates its running buffers.
    model.train()
    outputs(model, io["x0"], "train0.", io)
    for k, v in model.state_dict().items():
        if "running_" in k or "num_batches_tracked" in k:
            io["after." + k] = v.detach().clone()
    torch.save(io, f"{directory}/{name}_io.pt")


def make(directory):
    torch.manual_seed(7)
    model = torchvision.models.resnet18(num_classes=NUM_CLASSES)
    torch.save(plain(model.state_dict()), f"{directory}/init_seed7.pt")
    # The last shape is the notebook's: CIFAR's 32 x 32 through the imagenet stem (layer4 1 x 1).
    case(model, "imagenet", [(2, 3, 64, 64), (1, 3, 224, 224), (24, 3, 32, 32)], directory,
         seed=11)

    # The CIFAR stem as commonly written on top of torchvision: a 3x3 stride-1 conv1 and the max
    # pool replaced by the identity. The state_dict keys stay those of resnet18.
    cifar = torchvision.models.resnet18(num_classes=NUM_CLASSES)
    cifar.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    cifar.maxpool = torch.nn.Identity()
    case(cifar, "cifar", [(2, 3, 32, 32)], directory, seed=21)


def names():
    for n, _ in torchvision.models.resnet18(num_classes=NUM_CLASSES).named_modules():
        print(n)


def check(sp_file, reference_file):
    state = torch.load(sp_file)
    if type(state) is not dict:
        sys.exit(f"{sp_file}: a {type(state).__name__}, not a dict")
    model = torchvision.models.resnet18(num_classes=NUM_CLASSES)
    model.load_state_dict(state, strict=True)
    reference = torch.load(reference_file)
    if list(state) != list(reference):
        sys.exit(f"{sp_file}: keys or their order differ from {reference_file}")
    for k, v in reference.items():
        if state[k].dtype != v.dtype or not torch.equal(state[k], v):
            sys.exit(f"{sp_file}: {k} differs from {reference_file}")
    print("ok")


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"] and len(sys.argv) == 3:
        make(sys.argv[2])
    elif sys.argv[1:] == ["names"]:
        names()
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
