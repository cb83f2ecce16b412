import torch


def token_batch(n: int, steps: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-padded random strings over 26 letters (ids 1..26), their lengths and binary labels."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, steps + 1, (n,), generator=g)
    lengths[0] = steps
    tokens = torch.randint(1, 27, (n, steps), generator=g)
    tokens[torch.arange(steps).unsqueeze(0) >= lengths.unsqueeze(1)] = 0
    return tokens, lengths, torch.randint(0, 2, (n,), generator=g)
