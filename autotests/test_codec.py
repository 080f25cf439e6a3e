"""The data-only wire format: round trips, and rejection of anything that is not data."""
import numpy as np
import pytest

from grader.runner import codec


def test_round_trip_of_nested_data():
    obj = {"a": np.arange(6, dtype=np.float64).reshape(2, 3), "b": (1, 2.5, None, True, "s"),
           "c": [np.zeros((0, 3)), codec.Handle(3, "tuple"), codec.Rng(9)],
           "d": codec.Tensor(np.ones(2, np.float32), "cpu"), "e": float("nan"), "f": 2**70}
    back = codec.decode(codec.encode(obj))
    assert np.array_equal(back["a"], obj["a"]) and back["a"].dtype == np.float64
    assert back["b"] == obj["b"] and back["c"][1] == codec.Handle(3, "tuple")
    assert back["c"][2] == codec.Rng(9) and back["d"].device == "cpu"
    assert np.isnan(back["e"]) and back["f"] == 2**70


def test_zero_dimensional_arrays_keep_their_shape():
    """Regression: ``np.ascontiguousarray`` makes a 0-d array 1-d, so a loss returned as
    ``np.squeeze(cost)`` reached the checks as shape (1,) and was failed as an array."""
    back = codec.decode(codec.encode((np.asarray(0.25), codec.Tensor(np.asarray(2.0, np.float32),
                                                                     "cpu"))))
    assert back[0].shape == () and back[0] == 0.25
    assert back[1].array.shape == () and back[1].array.dtype == np.float32


def test_decoded_arrays_are_writable_copies():
    data = codec.encode(np.arange(3.0))
    arr = codec.decode(data)
    arr[0] = 5.0
    assert arr.flags.owndata


@pytest.mark.parametrize("obj", [object(), np.array(["x"]), np.array([1 + 2j]), {1: 2},
                                 np.array([object()], dtype=object)])
def test_refuses_non_data(obj):
    with pytest.raises(codec.CodecError):
        codec.encode(obj)


@pytest.mark.parametrize("data", [b"", b"\x05\x00\x00\x00\x00\x00\x00\x00{}", b"\xff" * 8 + b"x",
                                  codec.encode(np.arange(3.0))[:-1],
                                  b"\x0b\x00\x00\x00\x00\x00\x00\x00{\"$py\": 1}",
                                  b"\x2e\x00\x00\x00\x00\x00\x00\x00{\"$nd\": 0, \"dtype\": \"|O\", \"shape\": [1]}"])
def test_rejects_malformed_bytes(data):
    with pytest.raises(codec.CodecError):
        codec.decode(data)
