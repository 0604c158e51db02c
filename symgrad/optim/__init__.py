"""Optimizers with PyTorch's names, defaults and update formulas (``torch.optim``):
``SGD``, ``Adam``, ``AdamW``, their base class ``Optimizer``, and the schedules in
``lr_scheduler`` (``StepLR``, ``CosineAnnealingLR``).

    opt = sg.optim.Adam(params, lr=1e-3)
    for x, y in batches:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

A step changes each parameter's data in place (the same ndarray, its dtype kept) and
records nothing in a graph.
"""

from symgrad.optim import lr_scheduler
from symgrad.optim.adam import Adam, AdamW
from symgrad.optim.optimizer import Optimizer
from symgrad.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer", "lr_scheduler"]
