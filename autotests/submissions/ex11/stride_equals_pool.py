# expect: forward_values fail assumes stride = pool size
# The "reshape" trick: H is cut into blocks of pool_height rows (H_out = H // pool_height), which
# only works when the stride equals the pool size and the blocks tile the input.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    Ho, Wo = H // pool_height, W // pool_width
    blocks = x[:, :, :Ho * pool_height, :Wo * pool_width].reshape(N, C, Ho, pool_height, Wo, pool_width)
    out = blocks.amax(dim=(3, 5))
    return out, (x, pool_height, pool_width, stride)


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

