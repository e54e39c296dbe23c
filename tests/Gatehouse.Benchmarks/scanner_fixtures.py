#!/usr/bin/env python3
"""Inputs for `Gatehouse.Benchmarks scanner` (scripts/bench.sh --only scanner). Each subcommand prints one JSON line.

  scanner_fixtures.py pickle OUT                 pickle.dumps({f"k{i}": (i, float(i), "v") for i in range(200000)}, protocol=4)
  scanner_fixtures.py checkpoint OUT [--no-torch]
      a ~122 MB PyTorch checkpoint: torch.save of a state_dict (four large float32 tensors and a Linear(1024, 1024))
      when torch imports, otherwise (or with --no-torch) the same zip layout built with zipfile: archive/data.pkl is a
      protocol-2 pickle of an OrderedDict whose values are torch._utils._rebuild_tensor_v2 REDUCE calls on BINPERSID
      storages, assembled opcode by opcode, and archive/data/0..N hold random bytes, stored.
Only the standard library is needed for the pickle and the hand-built checkpoint.
"""
import collections
import json
import os
import pickle
import pickletools
import struct
import sys
import zipfile

# name -> shape; float32, so 4 bytes per element. 32 + 32 + 32 + 16 MiB, plus the Linear's 4 MiB + 4 KiB.
TENSORS = [
    ("encoder.weight", (4096, 2048)),
    ("decoder.weight", (4096, 2048)),
    ("embedding.weight", (8192, 1024)),
    ("projection.weight", (2048, 2048)),
    ("head.weight", (1024, 1024)),
    ("head.bias", (1024,)),
]


def make_pickle(out):
    data = pickle.dumps({f"k{i}": (i, float(i), "v") for i in range(200000)}, protocol=4)
    with open(out, "wb") as f:
        f.write(data)
    opcodes = sum(1 for _ in pickletools.genops(data))
    return {"path": out, "bytes": len(data), "opcodes": opcodes, "python": sys.version.split()[0]}


def make_with_torch(out):
    import torch

    torch.manual_seed(0)
    state = collections.OrderedDict()
    for name, shape in TENSORS[:-2]:
        state[name] = torch.randn(*shape)
    head = torch.nn.Linear(1024, 1024)
    for key, value in head.state_dict().items():
        state["head." + key] = value
    torch.save(state, out)
    return {"source": f"torch.save (torch {torch.__version__})"}


def _unicode(text):
    raw = text.encode("utf-8")
    return b"X" + struct.pack("<I", len(raw)) + raw  # BINUNICODE


def _int(value):
    if 0 <= value < 256:
        return b"K" + bytes([value])  # BININT1
    if 0 <= value < 65536:
        return b"M" + struct.pack("<H", value)  # BININT2
    return b"J" + struct.pack("<i", value)  # BININT


def _tuple(items):
    return b"(" + b"".join(items) + b"t"  # MARK ... TUPLE


def _hand_built_data_pkl(storages):
    """What torch.save writes for an OrderedDict of tensors (protocol 2), minus the memo puts it does not need."""
    ordered_dict = b"ccollections\nOrderedDict\n)R"  # GLOBAL, EMPTY_TUPLE, REDUCE
    body = [b"\x80\x02", ordered_dict, b"("]  # PROTO 2, the state_dict, MARK
    for key, (name, shape) in enumerate(storages):
        numel = 1
        for dim in shape:
            numel *= dim
        strides, step = [], 1
        for dim in reversed(shape):
            strides.insert(0, step)
            step *= dim
        storage = _tuple([_unicode("storage"), b"ctorch\nFloatStorage\n", _unicode(str(key)), _unicode("cpu"), _int(numel)]) + b"Q"  # BINPERSID
        arguments = _tuple([storage, _int(0), _tuple([_int(d) for d in shape]), _tuple([_int(s) for s in strides]), b"\x89", ordered_dict])  # NEWFALSE
        body += [_unicode(name), b"ctorch._utils\n_rebuild_tensor_v2\n", arguments, b"R"]
    body += [b"u."]  # SETITEMS, STOP
    return b"".join(body)


def make_by_hand(out, why):
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", _hand_built_data_pkl(TENSORS))
        for key, (_, shape) in enumerate(TENSORS):
            numel = 1
            for dim in shape:
                numel *= dim
            archive.writestr(f"archive/data/{key}", os.urandom(4 * numel))
        archive.writestr("archive/version", "3\n")
    return {"source": f"hand-built zip (zipfile; data.pkl assembled opcode by opcode; {why})"}


def make_checkpoint(out, use_torch):
    info, why = None, "torch not used: --no-torch"
    if use_torch:
        try:
            import torch  # noqa: F401
        except ImportError:
            why = f"torch not importable by {sys.executable}"
        else:
            info = make_with_torch(out)
    if info is None:
        info = make_by_hand(out, why)
    with zipfile.ZipFile(out) as archive:
        members = archive.infolist()
        info.update({
            "path": out,
            "bytes": os.path.getsize(out),
            "members": len(members),
            "dataPklBytes": next(m.file_size for m in members if m.filename.endswith("/data.pkl")),
            "tensorBytes": sum(m.file_size for m in members if "/data/" in m.filename),
            "python": sys.version.split()[0],
        })
    return info


def main(argv):
    if len(argv) >= 2 and argv[0] == "pickle":
        print(json.dumps(make_pickle(argv[1])))
    elif len(argv) >= 2 and argv[0] == "checkpoint":
        print(json.dumps(make_checkpoint(argv[1], use_torch="--no-torch" not in argv[2:])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
