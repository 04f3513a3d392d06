"""UVBP/1 framing (live/uvbp.py): headers, payloads and the incremental decoder."""

from __future__ import annotations

import struct

import pytest

from uefivars_gui.live import uvbp
from uefivars_gui.live.uvbp import ErrorCode, Frame, FrameDecoder, MessageType, ProtocolError


def test_constants_follow_the_spec() -> None:
    assert uvbp.MAGIC == bytes.fromhex("55564250") == b"UVBP"
    assert uvbp.HEADER_SIZE == 16
    assert uvbp.MAX_PAYLOAD == 65536 + 16
    assert [(t.name, t.value) for t in MessageType] == [
        ("HELLO", 1),
        ("REG_READ", 2),
        ("REG_WRITE", 3),
        ("DMA_READ", 4),
        ("DMA_WRITE", 5),
        ("RESET", 6),
        ("GOODBYE", 7),
    ]
    assert (uvbp.Flags.REPLY, uvbp.Flags.ERROR) == (1, 2)
    assert [(c.name, c.value) for c in ErrorCode] == [
        ("BAD_MESSAGE", 1),
        ("UNSUPPORTED_VERSION", 2),
        ("BUSY", 3),
        ("DMA_FAILED", 4),
        ("INTERNAL_ERROR", 5),
    ]


def test_hello_frame_bytes() -> None:
    frame = uvbp.pack_frame(MessageType.HELLO, 1, uvbp.pack_hello())
    assert frame == bytes.fromhex("55564250 0100 0000 01000000 08000000 01000000 01000000")


def test_error_reply_bytes() -> None:
    frame = uvbp.pack_frame(MessageType.REG_READ, 0x01020304, uvbp.pack_error(ErrorCode.BUSY, "busy"), 3)
    assert frame == bytes.fromhex("55564250 0200 0300 04030201 08000000 03000000") + b"busy"


@pytest.mark.parametrize("msg_type", list(MessageType))
@pytest.mark.parametrize("flags", [0, 1, 2, 3])
def test_header_round_trip(msg_type: MessageType, flags: int) -> None:
    raw = uvbp.pack_frame(msg_type, 0xFFFFFFFF, b"abc", flags)
    header = uvbp.parse_header(raw)
    assert header == uvbp.Header(msg_type, flags, 0xFFFFFFFF, 3)
    decoder = FrameDecoder()
    decoder.feed(raw)
    assert decoder.next_frame() == Frame(msg_type, flags, 0xFFFFFFFF, b"abc")
    assert decoder.next_frame() is None
    assert decoder.buffered == 0


def _header(
    magic: bytes = b"UVBP", msg_type: int = 2, flags: int = 0, msg_id: int = 9, length: int = 0
) -> bytes:
    return struct.pack("<4sHHII", magic, msg_type, flags, msg_id, length)


@pytest.mark.parametrize(
    ("raw", "what", "msg_type", "msg_id"),
    [
        (_header(magic=b"UVBQ", msg_type=2, msg_id=9), "bad magic", 2, 9),
        (_header(msg_type=0, msg_id=5), "unknown message type 0", 0, 5),
        (_header(msg_type=8, msg_id=5), "unknown message type 8", 8, 5),
        (_header(msg_type=0xFFFF, msg_id=5), "unknown message type 65535", 0xFFFF, 5),
        (_header(flags=4, msg_id=7), "reserved flag bits", 2, 7),
        (_header(flags=0x8000, msg_id=7), "reserved flag bits", 2, 7),
        (_header(length=65553, msg_id=3), "over the limit", 2, 3),
        (_header(length=0xFFFFFFFF, msg_id=3), "over the limit", 2, 3),
    ],
)
def test_bad_headers(raw: bytes, what: str, msg_type: int, msg_id: int) -> None:
    with pytest.raises(ProtocolError, match=what) as info:
        uvbp.parse_header(raw)
    assert (info.value.msg_type, info.value.msg_id, info.value.fatal) == (msg_type, msg_id, True)
    decoder = FrameDecoder()
    decoder.feed(raw)  # no payload needed: the header alone is refused at once
    with pytest.raises(ProtocolError, match=what):
        decoder.next_frame()


def test_truncated_header() -> None:
    with pytest.raises(ProtocolError, match="truncated header") as info:
        uvbp.parse_header(b"UVBP\x01\x00")
    assert (info.value.msg_type, info.value.msg_id) == (0, 0)
    decoder = FrameDecoder()
    decoder.feed(b"UVBP\x01\x00")
    assert decoder.next_frame() is None
    assert decoder.peek_header() is None


def test_length_limit_is_inclusive() -> None:
    raw = _header(length=uvbp.MAX_PAYLOAD)
    assert uvbp.parse_header(raw).length == 65552
    decoder = FrameDecoder()
    decoder.feed(raw + bytes(uvbp.MAX_PAYLOAD))
    frame = decoder.next_frame()
    assert frame is not None and len(frame.payload) == 65552


def test_decoder_byte_by_byte_and_batched() -> None:
    frames = [
        Frame(MessageType.HELLO, 0, 1, uvbp.pack_hello()),
        Frame(MessageType.REG_WRITE, 0, 2, uvbp.pack_reg_write(2, 2, 1)),
        Frame(MessageType.DMA_READ, 1, 3, bytes(range(200))),
        Frame(MessageType.GOODBYE, 0, 4, b""),
    ]
    stream = b"".join(f.pack() for f in frames)
    decoder = FrameDecoder()
    got: list[Frame] = []
    for index in range(len(stream)):
        decoder.feed(stream[index : index + 1])
        while (frame := decoder.next_frame()) is not None:
            got.append(frame)
    assert got == frames
    decoder.feed(stream)
    assert [decoder.next_frame() for _ in frames] == frames
    assert decoder.next_frame() is None


def test_peek_header_of_a_partial_frame() -> None:
    decoder = FrameDecoder()
    decoder.feed(uvbp.pack_frame(MessageType.REG_WRITE, 6, bytes(16))[:20])
    assert decoder.next_frame() is None
    assert decoder.peek_header() == uvbp.Header(3, 0, 6, 16)


def test_payload_round_trips() -> None:
    def frame(t: int, payload: bytes) -> Frame:
        return Frame(t, 0, 1, payload)

    assert uvbp.parse_hello(frame(1, uvbp.pack_hello(1, 0))) == (1, 0)
    assert uvbp.parse_hello(frame(1, uvbp.pack_hello(2, 1) + b"future")) == (2, 1)
    assert uvbp.parse_reg_read(frame(2, uvbp.pack_reg_read(0x1C, 4))) == (0x1C, 4)
    assert uvbp.parse_reg_write(frame(3, uvbp.pack_reg_write(0x10, 8, -1))) == (0x10, 8, (1 << 64) - 1)
    assert uvbp.parse_dma_read(frame(4, uvbp.pack_dma_read(1 << 40, 65536))) == (1 << 40, 65536)
    assert uvbp.parse_dma_write(frame(5, uvbp.pack_dma_write(0x200000, b"xyz"))) == (0x200000, b"xyz")
    assert uvbp.parse_u64(frame(2, uvbp.pack_u64(0xEF1))) == 0xEF1
    assert uvbp.parse_error(frame(1, uvbp.pack_error(4, "outside RAM"))) == (4, "outside RAM")
    assert uvbp.parse_error(frame(1, b"\x01")) == (0, "")


def test_hello_reply_with_and_without_json() -> None:
    plain = uvbp.pack_hello_reply(1)
    assert plain == struct.pack("<IIII", 1, 0x20, 1, 0)
    assert uvbp.parse_hello_reply(Frame(1, 1, 1, plain)) == (1, 0x20, 1, 0, {})
    described = uvbp.pack_hello_reply(0, {"store": "/x.json"})
    assert described[16:] == b'{"store":"/x.json"}'
    assert uvbp.parse_hello_reply(Frame(1, 1, 1, described)).info == {"store": "/x.json"}
    assert uvbp.parse_hello_reply(Frame(1, 1, 1, plain + b"\xff{")).info == {}


@pytest.mark.parametrize(
    ("parse", "msg_type", "payload"),
    [
        (uvbp.parse_hello, 1, b"\x01\x00\x00\x00"),
        (uvbp.parse_reg_read, 2, bytes(7)),
        (uvbp.parse_reg_read, 2, bytes(9)),
        (uvbp.parse_reg_write, 3, bytes(15)),
        (uvbp.parse_reg_write, 3, bytes(17)),
        (uvbp.parse_dma_read, 4, bytes(8)),
        (uvbp.parse_dma_write, 5, bytes(7)),
        (uvbp.parse_u64, 2, bytes(4)),
    ],
)
def test_bad_payload_sizes_are_not_fatal(parse: object, msg_type: int, payload: bytes) -> None:
    assert callable(parse)
    with pytest.raises(ProtocolError) as info:
        parse(Frame(msg_type, 0, 42, payload))
    assert (info.value.msg_type, info.value.msg_id, info.value.fatal) == (msg_type, 42, False)


@pytest.mark.parametrize(
    ("offset", "size", "ok"),
    [
        (0x00, 2, True),
        (0x02, 2, True),
        (0x04, 4, True),
        (0x10, 8, True),
        (0x18, 8, True),
        (0x1C, 4, True),
        (0x1F, 1, True),
        (0x00, 1, True),
        (0x01, 2, False),
        (0x02, 4, False),
        (0x04, 8, False),
        (0x1C, 8, False),
        (0x20, 1, False),
        (0x1E, 4, False),
        (0x00, 3, False),
        (0x00, 16, False),
        (0x00, 0, False),
    ],
)
def test_valid_access(offset: int, size: int, ok: bool) -> None:
    assert (uvbp.valid_access(offset, size) is None) == ok


def test_frame_describe() -> None:
    assert Frame(4, 3, 9, b"ab").describe() == "DMA_READ ERROR id 9 (2 bytes)"
    assert Frame(2, 0, 1, b"").describe() == "REG_READ request id 1 (0 bytes)"
    assert Frame(77, 1, 1, b"").describe() == "type 77 reply id 1 (0 bytes)"


# --- receiving in place (reserve / commit) ---------------------------------------------------


def test_receive_in_place_across_partial_writes() -> None:
    raw = uvbp.pack_frame(MessageType.DMA_READ, 5, bytes(range(100)), 1)
    decoder = FrameDecoder()
    for start, stop in [(0, 3), (3, 16), (16, 17), (17, len(raw))]:
        assert decoder.next_frame() is None
        room = decoder.reserve()
        room[: stop - start] = raw[start:stop]
        decoder.commit(stop - start)
        assert decoder.buffered == stop
    assert decoder.next_frame() == Frame(MessageType.DMA_READ, 1, 5, bytes(range(100)))
    assert decoder.buffered == 0
    assert len(decoder.reserve()) >= uvbp.HEADER_SIZE + uvbp.MAX_PAYLOAD  # empty again: all room


def test_a_partial_largest_message_always_fits() -> None:
    """Buffered bytes move to the front when the largest message might not fit behind them."""
    small = uvbp.pack_frame(MessageType.REG_READ, 1, bytes(8), 1)
    big = uvbp.pack_frame(MessageType.DMA_WRITE, 2, bytes(range(256)) * 256 + b"tail" * 4, 0)
    assert len(big) == uvbp.HEADER_SIZE + uvbp.MAX_PAYLOAD
    decoder = FrameDecoder()
    count = 3000  # 72000 bytes of small frames: past the middle of the buffer
    decoder.feed(small * count + big[:100])
    for _ in range(count):
        assert decoder.next_frame() == Frame(MessageType.REG_READ, 1, 1, bytes(8))
    assert decoder.next_frame() is None and decoder.buffered == 100
    room = decoder.reserve()
    assert len(room) >= len(big) - 100
    room[: len(big) - 100] = big[100:]
    decoder.commit(len(big) - 100)
    frame = decoder.next_frame()
    assert frame is not None and frame.payload == big[16:]
    assert decoder.buffered == 0


def test_feed_larger_than_the_buffer_grows_it() -> None:
    frames = [Frame(MessageType.DMA_WRITE, 0, n, bytes([n]) * uvbp.MAX_PAYLOAD) for n in range(3)]
    decoder = FrameDecoder()
    decoder.feed(b"".join(f.pack() for f in frames) + b"UVBP")
    assert [decoder.next_frame() for _ in frames] == frames
    assert decoder.next_frame() is None and decoder.buffered == 4


def test_small_payload_limit() -> None:
    decoder = FrameDecoder(max_payload=16)
    decoder.feed(uvbp.pack_frame(MessageType.REG_WRITE, 1, bytes(16)))
    assert decoder.next_frame() == Frame(MessageType.REG_WRITE, 0, 1, bytes(16))
    decoder.feed(uvbp.pack_frame(MessageType.REG_WRITE, 2, bytes(17)))
    with pytest.raises(ProtocolError, match="over the limit 16"):
        decoder.next_frame()
