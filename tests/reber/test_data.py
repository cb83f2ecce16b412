import pandas as pd
import pytest
import torch

from sparsewire.reber import (
    ALPHABET,
    ReberError,
    classification_frame,
    classification_tensors,
    decode,
    encode,
    is_valid,
    load_reber,
    locate,
    next_symbol_tensors,
    pad_batch,
    read_csv,
)


def test_encode_decode_roundtrip_and_bad_input():
    assert decode(encode("BTXSE")) == "BTXSE"
    assert encode("AZ") == [1, 26]
    with pytest.raises(ReberError, match="empty"):
        encode("")
    with pytest.raises(ReberError, match="outside A-Z"):
        encode("BTx SE")
    with pytest.raises(ReberError):
        pad_batch(["BTXSE", ""])
    with pytest.raises(ReberError, match="does not fit"):
        pad_batch(["BTXSE"], length=3)


def test_pad_batch_is_right_padded():
    tokens, lengths = pad_batch(["BTXSE", "BPVVE", "BTSSXXTVVE"])
    assert tokens.shape == (3, 10)
    assert lengths.tolist() == [5, 5, 10]
    assert (tokens[0, 5:] == 0).all() and (tokens[0, :5] > 0).all()
    assert decode(tokens[2]) == "BTSSXXTVVE"


def test_shipped_data_labels_agree_with_the_grammar(reber_dir):
    train = read_csv(locate("train_data.csv", reber_dir.parent))
    test = read_csv(locate("test_data.csv", reber_dir.parent))
    assert len(train) == 18750 and len(test) == 6250
    assert int(train["valid"].sum()) == 9339 and int(test["valid"].sum()) == 3161
    for frame in (train, test):
        assert (frame["string"].map(is_valid).astype(int) == frame["valid"]).all()


def test_load_reber_splits(reber_dir):
    splits = load_reber(reber_dir.parent, val_size=1000, seed=0)
    tokens, lengths, valid = splits.train
    assert tokens.shape[0] == lengths.shape[0] == valid.shape[0] == 17750
    assert splits.val[0].shape[0] == 1000 and splits.test[0].shape[0] == 6250
    assert int(lengths.min()) >= 11 and int(splits.test[1].max()) == 53
    # the validation strings are held out of training and the split is seeded
    again = load_reber(reber_dir.parent, val_size=1000, seed=0)
    assert torch.equal(again.val[0], splits.val[0])
    other = load_reber(reber_dir.parent, val_size=1000, seed=1)
    assert not torch.equal(other.val[1], splits.val[1])


def test_checksum_and_columns_are_checked(tmp_path, reber_dir, monkeypatch):
    bad = tmp_path / "reber"
    bad.mkdir()
    content = (reber_dir / "train_data.csv").read_text().replace("BPTVXPVXPTTVXVE", "BPTVXPVXPTTVXVV", 1)
    (bad / "train_data.csv").write_text(content)
    with pytest.raises(ReberError, match="SHA-256"):
        locate("train_data.csv", tmp_path)
    (bad / "wrong.csv").write_text("idx,text,label\n0,BTXSE,1\n")
    with pytest.raises(ReberError, match="columns"):
        read_csv(bad / "wrong.csv")
    (bad / "empty.csv").write_text("string,valid\n,1\n")
    with pytest.raises(ReberError, match="empty"):
        read_csv(bad / "empty.csv")
    (bad / "chars.csv").write_text("string,valid\nBT3SE,1\n")
    with pytest.raises(ReberError, match="outside"):
        read_csv(bad / "chars.csv")
    (bad / "labels.csv").write_text("string,valid\nBTXSE,2\n")
    with pytest.raises(ReberError, match="0/1"):
        read_csv(bad / "labels.csv")
    import sparsewire.reber.data as data

    monkeypatch.setattr(data, "search_paths", lambda data_dir=None: [tmp_path / "nowhere"])
    with pytest.raises(ReberError, match="not found"):
        locate("test_data.csv", tmp_path / "nowhere")


def test_classification_frame_labels_match_grammar():
    frame = classification_frame(300, seed=1, valid_fraction=0.4, min_length=11)
    assert isinstance(frame, pd.DataFrame) and len(frame) == 300
    assert int(frame["valid"].sum()) == 120
    assert (frame["string"].map(is_valid).astype(int) == frame["valid"]).all()
    assert frame["string"].str.len().min() >= 11
    assert frame.equals(classification_frame(300, seed=1, valid_fraction=0.4, min_length=11))
    tokens, lengths, valid = classification_tensors(20, seed=2, embedded=True)
    assert tokens.shape[0] == 20 and valid.sum() == 10
    assert all(is_valid(decode(t), True) == bool(v) for t, v in zip(tokens, valid, strict=True))


def test_next_symbol_targets():
    tokens, lengths, targets = next_symbol_tensors(30, seed=0)
    assert targets.shape == (*tokens.shape, len(ALPHABET))
    for i in range(30):
        n = int(lengths[i])
        s = decode(tokens[i])
        # the next symbol is always among the allowed ones, and after E nothing is allowed
        for t in range(n - 1):
            assert targets[i, t, ALPHABET.index(s[t + 1])] == 1
        assert targets[i, n - 1].sum() == 0 and targets[i, n:].sum() == 0
