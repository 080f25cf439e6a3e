# source: https://github.com/1204al/cs231n_2019/blob/cbab51080f98f23693eb1f5f029284efb8c4a29c/assignment2/cs231n/layers.py
# verdict: maxpool_forward wrong: asserts that the windows tile the input, so sizes that need the floor raise AssertionError
# verdict: maxpool_backward wrong: assigns (=) the gradient at each window's maximum, losing the sum where overlapping windows share a maximum
# expect: edge_configs error AssertionError
# expect: backward_overlap fail overwrites
import numpy as np
import torch


def max_pool_forward_naive(x, pool_param):
    """
    A naive implementation of the forward pass for a max-pooling layer.

    Inputs:
    - x: Input data, of shape (N, C, H, W)
    - pool_param: dictionary with the following keys:
      - 'pool_height': The height of each pooling region
      - 'pool_width': The width of each pooling region
      - 'stride': The distance between adjacent pooling regions

    No padding is necessary here. Output size is given by 

    Returns a tuple of:
    - out: Output data, of shape (N, C, H', W') where H' and W' are given by
      H' = 1 + (H - pool_height) / stride
      W' = 1 + (W - pool_width) / stride
    - cache: (x, pool_param)
    """
    out = None
    ###########################################################################
    # TODO: Implement the max-pooling forward pass                            #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****

    pool_height=pool_param["pool_height"]
    pool_width=pool_param["pool_width"]
    stride=pool_param["stride"]
    N,C,H,W=x.shape
    
    
    assert (H-pool_height)%stride==0 ,'pooling layer. check Height'
    assert (W-pool_width)%stride==0 ,'pooling layer. check Width'
    outH=1+(H-pool_height)//stride
    outW=1+(W-pool_width)//stride
    out=np.zeros((N,C,outH,outW))
    
    for n in range(N):
        for i in range(outH):
            for j in range(outW):
                out[n,:,i,j]=np.max(x[n,:,i*stride:i*stride+pool_height,j*stride:j*stride+pool_width],axis=(-1,-2))
    
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    cache = (x, pool_param)
    return out, cache


def max_pool_backward_naive(dout, cache):
    """
    A naive implementation of the backward pass for a max-pooling layer.

    Inputs:
    - dout: Upstream derivatives
    - cache: A tuple of (x, pool_param) as in the forward pass.

    Returns:
    - dx: Gradient with respect to x
    """
    dx = None
    ###########################################################################
    # TODO: Implement the max-pooling backward pass                           #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    x,pool_param=cache
    
    pool_height=pool_param["pool_height"]
    pool_width=pool_param["pool_width"]
    stride=pool_param["stride"]
    N,C,H,W=x.shape
    outH=1+(H-pool_height)//stride
    outW=1+(W-pool_width)//stride
    dx=np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(outH):
                for j in range(outW):
                    #https://stackoverflow.com/questions/9482550/argmax-of-numpy-array-returning-non-flat-indices
                    index=np.argmax(x[n,c,i*stride:i*stride+pool_height,j*stride:j*stride+pool_width])
                    index1,index2=np.unravel_index(index,(pool_height,pool_width))
                    dx[n,c,i*stride:i*stride+pool_height,j*stride:j*stride+pool_width][index1,index2]=dout[n,c,i,j]


    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return dx


# -- wrapper (not the author's): the contract's API around the author's numpy functions ---------
def maxpool_forward(x, pool_height=2, pool_width=2, stride=2):
    pool_param = {"pool_height": pool_height, "pool_width": pool_width, "stride": stride}
    out, cache = max_pool_forward_naive(x.cpu().numpy(), pool_param)
    return torch.from_numpy(out).to(x.device), cache


def maxpool_backward(dout, cache):
    return torch.from_numpy(max_pool_backward_naive(dout.cpu().numpy(), cache)).to(dout.device)
