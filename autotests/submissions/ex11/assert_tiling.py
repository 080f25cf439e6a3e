# expect: edge_configs error do not assert that the windows tile the input
# expect: forward_values pass
# expect: backward_overlap pass
# The forward pass asserts that the windows tile the input exactly (the CS231n notebook only tests
# such sizes); the contract asks for the floor.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    assert (H - pool_height) % stride == 0, "pooling: check the height"
    assert (W - pool_width) % stride == 0, "pooling: check the width"
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    return win.amax(dim=(4, 5)), (x, pool_height, pool_width, stride)


def maxpool_backward(dout, cache):
    x, ph, pw, s = cache
    _, _, Ho, Wo = dout.shape
    dx = torch.zeros_like(x)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            mask = win == win.amax(dim=(2, 3), keepdim=True)
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += mask * dout[:, :, i, j, None, None]
    return dx

