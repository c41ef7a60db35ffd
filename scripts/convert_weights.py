#!/usr/bin/env python3
"""Convert torchvision's ResNet18 weights into the file sp loads (model.pretrained).

Usage:
    python3 scripts/convert_weights.py resnet18-f37072fd.pth weights/resnet18-imagenet.pt
    python3 scripts/convert_weights.py weights/resnet18-imagenet.pt
        (input: the resnet18-*.pth in torch.hub's cache, $TORCH_HOME/hub/checkpoints)
    python3 scripts/convert_weights.py --from-torchvision weights/resnet18-imagenet.pt
        (torchvision.models.resnet18 with its ImageNet weights; downloads them unless cached)

Run it on a machine that has torch and torchvision (and the weights); copy the output file to the
cluster. torchvision publishes a state_dict saved as an OrderedDict, which LibTorch's
torch::pickle_load cannot read; sp reads a plain dict of name -> contiguous CPU tensor in the zip
format of torch.save, which this script writes (atomically: <output>.tmp, then rename).

The input may also be a whole pickled module, a checkpoint holding the state_dict under
"state_dict" or "model", or a DataParallel state_dict ("module." prefixes are removed). Unless
--no-check is given, the result must load into torchvision's resnet18 (strict=True) with the
class count of its fc layer; sp's cifar stem and width multipliers need --no-check.
"""

import argparse
import glob
import hashlib
import os
import sys

import torch


def hub_cache_file():
    pattern = os.path.join(torch.hub.get_dir(), "checkpoints", "resnet18-*.pth")
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit(f"convert_weights: no input given and nothing matches {pattern}")
    return found[-1]


def torchvision_state_dict():
    import torchvision

    try:
        weights = torchvision.models.ResNet18_Weights.IMAGENET1K_V1
        model = torchvision.models.resnet18(weights=weights)
    except AttributeError:  # torchvision < 0.13
        model = torchvision.models.resnet18(pretrained=True)
    return model.state_dict()


def read_state_dict(path):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        obj = torch.load(path, map_location="cpu")
    except Exception:  # a pickled module is not weights-only
        obj = torch.load(path, map_location="cpu", weights_only=False)
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict):
        sys.exit(f"convert_weights: {path}: holds a {type(obj).__name__}, not a state_dict")
    return obj


def plain_dict(state_dict, source):
    out = {}
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            sys.exit(f"convert_weights: {source}: {key} is a {type(value).__name__}, not a tensor")
        name = key[len("module."):] if key.startswith("module.") else key
        # clone(): no tensor shares a storage with another, so each is saved on its own.
        out[name] = value.detach().cpu().contiguous().clone()
    return out


def check_torchvision(state, source):
    import torchvision

    if "fc.weight" not in state:
        sys.exit(f"convert_weights: {source}: no fc.weight: not a torchvision resnet18")
    model = torchvision.models.resnet18(num_classes=state["fc.weight"].shape[0])
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        sys.exit(f"convert_weights: {source}: not torchvision's resnet18 (--no-check skips this):"
                 f"\n{e}")


def main():
    parser = argparse.ArgumentParser(
        description="Convert torchvision ResNet18 weights into sp's plain-dict weight file.")
    parser.add_argument("paths", nargs="+", metavar="[INPUT] OUTPUT",
                        help="input .pth (default: torch.hub's cache) and output file")
    parser.add_argument("--from-torchvision", action="store_true",
                        help="take the weights from torchvision.models.resnet18 (ImageNet)")
    parser.add_argument("--no-check", action="store_true",
                        help="do not check the result against torchvision's resnet18")
    args = parser.parse_args()
    if len(args.paths) > 2 or (args.from_torchvision and len(args.paths) != 1):
        parser.error("give [INPUT] OUTPUT, or --from-torchvision OUTPUT")
    output = args.paths[-1]

    if args.from_torchvision:
        source = "torchvision resnet18 (IMAGENET1K_V1)"
        state = torchvision_state_dict()
    else:
        source = args.paths[0] if len(args.paths) == 2 else hub_cache_file()
        state = read_state_dict(source)
    state = plain_dict(state, source)
    if not args.no_check:
        check_torchvision(state, source)

    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    temp = output + ".tmp"
    torch.save(state, temp)
    with open(temp, "rb") as f:
        os.fsync(f.fileno())
        digest = hashlib.sha256(f.read()).hexdigest()
    os.replace(temp, output)
    parameters = sum(v.numel() for k, v in state.items() if "running_" not in k
                     and "num_batches_tracked" not in k)
    print(f"{source} -> {output}: {len(state)} tensors, {parameters} parameters, "
          f"sha256 {digest}")


if __name__ == "__main__":
    main()
