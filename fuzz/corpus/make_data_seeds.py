#!/usr/bin/env python3
"""Writes the seed files of fuzz_idx and fuzz_cifar (fuzz/corpus/idx, fuzz/corpus/cifar): tiny valid files in
the real formats, with the pixel pattern of tests/support/dataset_files.h."""
import gzip
import pathlib
import struct

here = pathlib.Path(__file__).parent


def idx(shape, data=None):
    count = 1
    for d in shape:
        count *= d
    if data is None:
        data = bytes((i * 7) % 251 for i in range(count))
    return bytes([0, 0, 0x08, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + bytes(data)


def cifar(labels):
    return b"".join(bytes([label]) + bytes((i + p) % 256 for p in range(3072)) for i, label in enumerate(labels))


seeds = {
    "idx/images-3x28x28-idx3-ubyte": idx([3, 28, 28]),
    "idx/labels-3-idx1-ubyte": idx([3], [7, 2, 1]),
    # gzip's header carries a time stamp: mtime=0 keeps the file reproducible.
    "idx/images-2x4x4-idx3-ubyte.gz": gzip.compress(idx([2, 4, 4]), mtime=0),
    "idx/labels-2-idx1-ubyte.gz": gzip.compress(idx([2], [0, 9]), mtime=0),
    "cifar/batch-2.bin": cifar([6, 9]),
    "cifar/batch-1.bin": cifar([0]),
}
for name, content in seeds.items():
    (here / name).write_bytes(content)
