#!/usr/bin/env python3
"""torchvision's side of tests/oracle/test_resnet_parity.cpp (Debian's /usr/bin/python3).

    resnet_oracle.py make DIR     writes into DIR:
        init_seed7.pt        dict(resnet18(num_classes=10).state_dict()) after torch.manual_seed(7)
        imagenet_weights.pt  that model with random BN statistics and affine terms (plain dict)
        imagenet_ordered.pth the same, saved as torchvision publishes it (an OrderedDict)
        imagenet_io.pt       inputs, eval-mode and train-mode outputs, buffers after train mode
        cifar_weights.pt, cifar_io.pt   the same for the CIFAR stem (3x3/1 conv1, no max pool)
    resnet_oracle.py check SP_FILE REFERENCE
        torch.load(SP_FILE) must be a plain dict that resnet18(num_classes=10) accepts with
        load_state_dict(strict=True), its tensors equal to REFERENCE's. Prints "ok".
"""

import sys

import torch
import torchvision

NUM_CLASSES = 10


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
    case(model, "imagenet", [(2, 3, 64, 64), (1, 3, 224, 224)], directory, seed=11)

    # The CIFAR stem as commonly written on top of torchvision: a 3x3 stride-1 conv1 and the max
    # pool replaced by the identity. The state_dict keys stay those of resnet18.
    cifar = torchvision.models.resnet18(num_classes=NUM_CLASSES)
    cifar.conv1 = torch.nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
    cifar.maxpool = torch.nn.Identity()
    case(cifar, "cifar", [(2, 3, 32, 32)], directory, seed=21)


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
    elif sys.argv[1:2] == ["check"] and len(sys.argv) == 4:
        check(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
