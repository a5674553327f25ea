"""The test's own MurmurHash3 and CBOR against published vectors, so the bucket prediction stands on its own."""

from __future__ import annotations

import pytest

from tests.flags.flags_support import cbor_array, cbor_text, murmur3_32


@pytest.mark.parametrize(
    ("data", "seed", "expected"),
    [
        # SMHasher's MurmurHash3_x86_32 verification values, as collected on Wikipedia and in many ports
        (b"", 0, 0),
        (b"", 1, 0x514E28B7),
        (b"\xff\xff\xff\xff", 0, 0x76293B50),
        (b"!Ce\x87", 0, 0xF55B516B),
        (b"!Ce", 0, 0x7E4A8634),
        (b"!C", 0, 0xA0F7B07A),
        (b"!", 0, 0x72661CF4),
        (b"\x00\x00\x00\x00", 0, 0x2362F9DE),
        (b"Hello, world!", 1234, 0xFAF6CDB3),
        (b"The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD),
    ],
)
def test_murmur3_vectors(data: bytes, seed: int, expected: int) -> None:
    assert murmur3_32(data, seed) == expected


def test_cbor_encodings_match_rfc_8949_appendix_a() -> None:
    assert cbor_text("") == bytes.fromhex("60")
    assert cbor_text("a") == bytes.fromhex("6161")
    assert cbor_text("IETF") == bytes.fromhex("6449455446")
    assert cbor_text("\u00fc") == bytes.fromhex("62c3bc")
    assert cbor_array(cbor_text("a"), cbor_text("b")) == bytes.fromhex("826161") + bytes.fromhex("6162")
    assert cbor_text("x" * 24)[:2] == bytes.fromhex("7818")
