# trick: never finishes being imported
# expect: signature error did not finish within 2 s during importing your module
# expect: sigmoid_values error your module could not be loaded
# score: 0
while True:
    pass


def sigmoid(z):
    return z


def sigmoid_grad(z):
    return z
