# expect: inputs_untouched fail changed the cache
# expect: backward_dx pass
# expect: backward_overlap pass
# The forward pass caches the mask of maxima per offset; the backward pass multiplies it by dout
# in place (mask.mul_), so a second backward on the same cache starts from the first one's
# gradients.
import torch


def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    N, C, H, W = x.shape
    win = x.unfold(2, pool_height, stride).unfold(3, pool_width, stride)
    out = win.amax(dim=(4, 5))
    masks = (win == out[..., None, None]).to(x.dtype)       # (N, C, Ho, Wo, ph, pw)
    return out, (x.shape, masks, stride)


def maxpool_backward(dout, cache):
    shape, masks, s = cache
    _, _, Ho, Wo, ph, pw = masks.shape
    masks.mul_(dout[..., None, None])
    dx = dout.new_zeros(shape)
    for p in range(ph):
        for q in range(pw):
            dx[:, :, p:p + s * (Ho - 1) + 1:s, q:q + s * (Wo - 1) + 1:s] += masks[..., p, q]
    return dx
