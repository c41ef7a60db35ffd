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

Hash check: torchvision names its weight files <name>-<first hex digits of the file's SHA-256>.pth
(resnet18-f37072fd.pth) and torch.hub checks that prefix after a download (check_hash); this
script checks it too for any input whose name carries 8 or more hex digits that way. A mismatch
(a damaged or different file) exits with 2 naming the file, the expected prefix and the SHA-256
found; --allow-unverified converts it anyway (private weights that follow the naming by chance),
and says so. The output's SHA-256 is what sp puts in replicate IDs (model.pretrained).

The input may also be a whole pickled module, a checkpoint holding the state_dict under
"state_dict" or "model", or a DataParallel state_dict ("module." prefixes are removed). Unless
--no-check is given, the result must load into torchvision's resnet18 (strict=True) with the
class count of its fc layer; sp's cifar stem and width multipliers need --no-check.
"""

import argparse
import glob
import hashlib
import os
import re
import sys

import torch


def hub_cache_file():
    pattern = os.path.join(torch.hub.get_dir(), "checkpoints", "resnet18-*.pth")
    found = sorted(glob.glob(pattern))
    if not found:
        sys.exit(f"convert_weights: no input given and nothing matches {pattern}")
    return found[-1]


# torch.hub's HASH_REGEX, with at least 8 digits (torchvision's names carry 8).
HASH_PREFIX = re.compile(r"-([a-f0-9]{8,})\.")


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_hash_prefix(path, allow_unverified):
    """The file's SHA-256 must start with the hex digits in its name (torchvision's convention)."""
    match = HASH_PREFIX.search(os.path.basename(path))
    if not match:
        return
    expected = match.group(1)
    found = sha256_of(path)
    if found.startswith(expected):
        print(f"{path}: SHA-256 {found} starts with {expected}, as its name says")
        return
    message = (f"{path}: SHA-256 mismatch: the name says it starts with {expected}, "
               f"found {found}")
    if allow_unverified:
        print(f"convert_weights: warning: {message}; converted anyway (--allow-unverified)",
              file=sys.stderr)
        return
    print(f"convert_weights: {message} (a damaged or different file; --allow-unverified "
          f"converts it anyway)", file=sys.stderr)
    sys.exit(2)


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
    parser.add_argument("--allow-unverified", action="store_true",
                        help="convert an input whose SHA-256 does not start with the hex digits "
                             "in its name (torchvision's resnet18-f37072fd.pth convention)")
    args = parser.parse_args()
    if len(args.paths) > 2 or (args.from_torchvision and len(args.paths) != 1):
        parser.error("give [INPUT] OUTPUT, or --from-torchvision OUTPUT")
    output = args.paths[-1]

    if args.from_torchvision:
        source = "torchvision resnet18 (IMAGENET1K_V1)"
        state = torchvision_state_dict()
    else:
        source = args.paths[0] if len(args.paths) == 2 else hub_cache_file()
        check_hash_prefix(source, args.allow_unverified)
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
