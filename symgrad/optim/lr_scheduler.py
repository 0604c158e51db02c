"""Learning-rate schedules, as PyTorch's ``torch.optim.lr_scheduler``: a scheduler sets
each parameter group's ``"lr"`` once per ``step()`` (an epoch, usually).

Like PyTorch's, the schedules are recursive (each lr is computed from the group's
current one), so that a change of a group's lr by hand, or a second scheduler on the same
optimizer, carries on; the closed forms in the docstrings are what they give alone.
"""

import math
import numbers

from symgrad.optim.optimizer import Optimizer, check_number


def check_int(name, value, low):
    """Raise naming ``name`` unless ``value`` is an int >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < low:
        raise ValueError(f"Invalid {name}: {value} (must be >= {low})")


class LRScheduler:
    """The base class: remembers each group's first lr (``"initial_lr"`` in the group,
    ``base_lrs`` here), counts epochs in ``last_epoch`` and sets the lrs ``get_lr()``
    returns. Made with ``last_epoch=-1`` it takes its first step at once (epoch 0, the
    initial lrs); resuming (``last_epoch=k``) needs the groups' ``"initial_lr"``."""

    def __init__(self, optimizer, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        check_int("last_epoch", last_epoch, -1)
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when "
                        "resuming an optimizer (last_epoch != -1)"
                    )
        self.optimizer = optimizer
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = int(last_epoch)
        self._step_count = 0
        self.step()

    def get_lr(self):
        """The lrs of epoch ``last_epoch``, one a group."""
        raise NotImplementedError

    def get_last_lr(self):
        """The lrs the last ``step()`` set, one a group."""
        return list(self._last_lr)

    def step(self):
        """Go to the next epoch: set each group's lr."""
        self._step_count += 1
        self.last_epoch += 1
        for group, lr in zip(self.optimizer.param_groups, self.get_lr(), strict=True):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def state_dict(self):
        """Everything but the optimizer, as numbers and lists of numbers."""
        return {
            key: list(value) if isinstance(value, list) else value
            for key, value in vars(self).items()
            if key != "optimizer"
        }

    def load_state_dict(self, state_dict):
        """Take what ``state_dict()`` gave (the optimizer's lrs come with its own)."""
        unknown = set(state_dict) - set(vars(self))
        if unknown:
            raise ValueError(f"load_state_dict: unknown entries {sorted(unknown)}")
        for key, value in state_dict.items():
            setattr(self, key, list(value) if isinstance(value, list | tuple) else value)


class StepLR(LRScheduler):
    """Multiplies each group's lr by ``gamma`` every ``step_size`` epochs: at epoch e,
    ``base_lr * gamma ** (e // step_size)``."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        check_int("step_size", step_size, 1)
        check_number("gamma", gamma)
        self.step_size = int(step_size)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        lrs = [group["lr"] for group in self.optimizer.param_groups]
        if self.last_epoch == 0 or self.last_epoch % self.step_size:
            return lrs
        return [lr * self.gamma for lr in lrs]


class CosineAnnealingLR(LRScheduler):
    """Anneals each group's lr from its initial value to ``eta_min`` over ``T_max``
    epochs along a half cosine, and back up over the next ``T_max`` (no restarts): at
    epoch e, ``eta_min + (base_lr - eta_min) * (1 + cos(pi * e / T_max)) / 2``.

    Each step scales the distance to ``eta_min`` by the ratio of that form's cosine
    terms at e and e - 1; where the denominator is 0 (the lr sits at ``eta_min``, at
    e - 1 = T_max, 3 T_max, ...) it adds the closed form's increase instead."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_int("T_max", T_max, 1)
        check_number("eta_min", eta_min)
        self.T_max = int(T_max)
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        e, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if e == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1:  # resumed at e: the closed form, from the base lrs
            factor = (1 + math.cos(math.pi * e / T)) / 2
            return [eta_min + (base - eta_min) * factor for base in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:  # leaving the bottom of the cosine
            rise = (1 - math.cos(math.pi / T)) / 2
            return [
                group["lr"] + (base - eta_min) * rise
                for group, base in zip(groups, self.base_lrs, strict=True)
            ]
        ratio = (1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T))
        return [eta_min + (group["lr"] - eta_min) * ratio for group in groups]
