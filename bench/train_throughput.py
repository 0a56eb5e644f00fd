#!/usr/bin/python3
"""Training throughput of ResNet-20 (option-A shortcuts, 1x28x28, 10 classes) in Python PyTorch: the same model,
optimizer and step as r2q's loop, on pre-made batches (no data pipeline or augmentation: the Python side gets the
easier job). Usage: train_throughput.py [--threads N] [--batch B] [--batches K] [--layout nchw|nhwc] [--device cpu|cuda];
prints one JSON line. The timed loop reads no value back per step (the loss once, at the end), as r2q's does on a
GPU.
nhwc uses torch.channels_last for the model and every batch, as r2q does by default."""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out)
        self.conv2 = nn.Conv2d(out, out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out)
        self.stride, self.pad = stride, out - inp

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        s = x
        if self.stride != 1 or self.pad:
            s = F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(y + s)


class ResNet20(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.5]).view(1, 1, 1, 1))
        self.register_buffer("inv_std", torch.tensor([4.0]).view(1, 1, 1, 1))
        self.stem = nn.Conv2d(1, 16, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)
        blocks, inp = [], 16
        for out in (16, 32, 64):
            for b in range(3):
                blocks.append(Block(inp, out, 2 if b == 0 and out != 16 else 1))
                inp = out
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.bn(self.stem((x - self.mean) * self.inv_std)))
        return self.fc(self.blocks(x).mean((2, 3)))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(0)
    fmt = torch.channels_last if a.layout == "nhwc" else torch.contiguous_format
    dev = torch.device(a.device)
    model = ResNet20().train().to(device=dev, memory_format=fmt)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    data = [(torch.rand(a.batch, 1, 28, 28, device=dev).contiguous(memory_format=fmt),
             torch.randint(0, 10, (a.batch,), device=dev)) for _ in range(a.batches + 5)]

    def step(x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    for x, y in data[:5]:
        step(x, y)
    if dev.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for x, y in data[5:]:
        loss = step(x, y)
    loss.item()  # waits for the device
    seconds = time.perf_counter() - start
    print(json.dumps({"impl": "PyTorch (Python, step only)", "model": "resnet20", "threads": a.threads, "layout": a.layout,
                      "device": a.device,
                      "batch": a.batch, "batches": a.batches, "images_per_s": a.batches * a.batch / seconds}))


if __name__ == "__main__":
    main()
