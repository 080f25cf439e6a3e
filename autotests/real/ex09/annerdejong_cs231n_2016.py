# source: https://github.com/Anner-deJong/CS231n_2016/blob/56e0b91f3a037c5af058d7110789c533c8ec3cbb/assignment2/cs231n/optim.py
# verdict: sgd_momentum_update correct
# verdict: rmsprop_update wrong: the step is applied to w in place (x += ...) and w itself is returned; the arithmetic is right
# verdict: adam_update wrong: the step is applied to w in place (x += ...) and w itself is returned; the arithmetic is right
# expect: inputs_untouched fail rmsprop_update changed its input `w` in place
# expect: inputs_untouched fail adam_update changed its input `w` in place
# expect: adam_many_steps pass
"""CS231n 2016 update rules (two-space indent): momentum builds a new next_w, but RMSProp and
Adam update the weights in place (x += -lr*dx/(...)), which the 2016 skeleton's note allows
("update rules may perform in-place updates") and the contract does not (only config may be
changed). The wrapper only renames the author's sgd_momentum / rmsprop / adam (arrays named x,
dx in two of them) to the contract's names; docstrings and TODO banners left out.
"""
import numpy as np


# ---- copied verbatim from Anner-deJong/CS231n_2016 assignment2/cs231n/optim.py (commit 56e0b91f3a) ----

def sgd_momentum(w, dw, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-2)
  config.setdefault('momentum', 0.9)
  v = config.get('velocity', np.zeros_like(w))
  
  next_w = None
  
  v      = (config['momentum'] * v) - (config['learning_rate'] * dw)
  next_w = w + v
    
  config['velocity'] = v

  return next_w, config


def rmsprop(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-2)
  config.setdefault('decay_rate', 0.99)
  config.setdefault('epsilon', 1e-8)
  config.setdefault('cache', np.zeros_like(x))

  next_x = None
  
  new_cac         = config['decay_rate']     * config['cache'] + (1 - config['decay_rate']) * np.power(dx, 2) 
  x              += - (config['learning_rate'] * dx)             / (np.sqrt(new_cac) + config['epsilon'])
  
  next_x          = x 
  config['cache'] = new_cac  
    
  return next_x, config


def adam(x, dx, config=None):
  if config is None: config = {}
  config.setdefault('learning_rate', 1e-3)
  config.setdefault('beta1', 0.9)
  config.setdefault('beta2', 0.999)
  config.setdefault('epsilon', 1e-8)
  config.setdefault('m', np.zeros_like(x))
  config.setdefault('v', np.zeros_like(x))
  config.setdefault('t', 0)
  
  next_x = None
  
  # retrieve values for readability
  lrng = config['learning_rate'] 
  b1   = config['beta1']
  b2   = config['beta2']
  eps  = config['epsilon']
  m    = config['m']
  v    = config['v']
  t    = config['t']+1
  
  new_m  = (b1 * m) + ((1 - b1) * dx)
  new_v  = (b2 * v) + ((1 - b2) * np.power(dx,2))
  mb     = new_m / (1 - b1**t)
  vb     = new_v / (1 - b2**t)
  x     += - (lrng * mb) / (np.sqrt(vb) + eps)
  
  next_x      = x
  config['m'] = new_m
  config['v'] = new_v
  config['t'] = t
    
  return next_x, config


# -- wrapper (not the author's): the contract's names for the author's functions ---------------
def sgd_momentum_update(w, dw, config=None):
  return sgd_momentum(w, dw, config)


def rmsprop_update(w, dw, config=None):
  return rmsprop(w, dw, config)


def adam_update(w, dw, config=None):
  return adam(w, dw, config)
