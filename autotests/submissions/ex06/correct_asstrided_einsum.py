# expect: full
# A correct variant: im2col as a strided view (as_strided) and einsum contractions; col2im by
# index_add_ over flat input positions.
import torch


def _windows(x_pad, HH, WW, stride, H_out, W_out):
    N, C, Hp, Wp = x_pad.shape
    sN, sC, sH, sW = x_pad.stride()
    return x_pad.as_strided((N, C, H_out, W_out, HH, WW),
                            (sN, sC, sH * stride, sW * stride, sH, sW))


def conv_forward(x, w, b, stride=1, pad=0):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    x_pad = torch.zeros(N, C, H + 2 * pad, W + 2 * pad, dtype=x.dtype, device=x.device)
    x_pad[:, :, pad:pad + H, pad:pad + W] = x
    cols = _windows(x_pad, HH, WW, stride, H_out, W_out)
    out = torch.einsum("nchwpq,fcpq->nfhw", cols, w) + b[None, :, None, None]
    return out, {"x_pad": x_pad, "w": w, "stride": stride, "pad": pad, "H": H, "W": W}


def conv_backward(dout, cache):
    x_pad, w, stride, pad = cache["x_pad"], cache["w"], cache["stride"], cache["pad"]
    H, W = cache["H"], cache["W"]
    N, C, Hp, Wp = x_pad.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    cols = _windows(x_pad, HH, WW, stride, H_out, W_out)
    dw = torch.einsum("nfhw,nchwpq->fcpq", dout, cols)
    db = dout.sum(dim=(0, 2, 3))
    dcols = torch.einsum("nfhw,fcpq->nchwpq", dout, w)          # (N, C, H_out, W_out, HH, WW)
    # Flat index (into Hp*Wp) of every window element.
    i = torch.arange(H_out, device=dout.device) * stride
    j = torch.arange(W_out, device=dout.device) * stride
    p = torch.arange(HH, device=dout.device)
    q = torch.arange(WW, device=dout.device)
    rows = i[:, None, None, None] + p[None, None, :, None]        # (H_out, 1, HH, 1)
    colsi = j[None, :, None, None] + q[None, None, None, :]       # (1, W_out, 1, WW)
    flat = (rows * Wp + colsi).reshape(-1)
    dx_pad = torch.zeros(N, C, Hp * Wp, dtype=dout.dtype, device=dout.device)
    dx_pad.index_add_(2, flat, dcols.reshape(N, C, -1))
    dx = dx_pad.reshape(N, C, Hp, Wp)[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
