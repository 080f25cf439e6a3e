# expect: performance fail a Python loop over the batch
# expect: op_count fail loops in Python over the batch
# Correct, written one example at a time with explicit outer products (correct values, but looped: fails the performance checks).
import torch


def _sig(z):
    return torch.sigmoid(z)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    N, H = prev_h.shape
    next_h = torch.zeros_like(prev_h)
    next_c = torch.zeros_like(prev_c)
    gates = []
    for n in range(N):
        a = x[n] @ Wx + prev_h[n] @ Wh + b
        i, f, o = _sig(a[:H]), _sig(a[H:2 * H]), _sig(a[2 * H:3 * H])
        g = torch.tanh(a[3 * H:])
        next_c[n] = f * prev_c[n] + i * g
        next_h[n] = o * torch.tanh(next_c[n])
        gates.append((i, f, o, g))
    return next_h, next_c, {"x": x, "h": prev_h, "c": prev_c, "Wx": Wx, "Wh": Wh,
                            "gates": gates, "next_c": next_c}


def lstm_step_backward(dnext_h, dnext_c, cache):
    x, h, c, Wx, Wh = cache["x"], cache["h"], cache["c"], cache["Wx"], cache["Wh"]
    N, H = h.shape
    dx, dprev_h, dprev_c = torch.zeros_like(x), torch.zeros_like(h), torch.zeros_like(c)
    dWx, dWh = torch.zeros_like(Wx), torch.zeros_like(Wh)
    db = torch.zeros(4 * H, dtype=x.dtype, device=x.device)
    for n in range(N):
        i, f, o, g = cache["gates"][n]
        t = torch.tanh(cache["next_c"][n])
        dc = dnext_c[n] + dnext_h[n] * o * (1 - t * t)
        da = torch.cat([dc * g * i * (1 - i), dc * c[n] * f * (1 - f),
                        dnext_h[n] * t * o * (1 - o), dc * i * (1 - g * g)])
        dprev_c[n] = dc * f
        dx[n] = Wx @ da
        dprev_h[n] = Wh @ da
        dWx += torch.outer(x[n], da)
        dWh += torch.outer(h[n], da)
        db += da
    return dx, dprev_h, dprev_c, dWx, dWh, db
