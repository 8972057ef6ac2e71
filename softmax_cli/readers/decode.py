"""Is the input text? Decompress it, decode UTF-16/32, and refuse binary data before any output.

``text_stream`` looks at the first bytes once: gzip, bz2 and xz are unwrapped
by their magic bytes (streaming, so memory stays bounded), UTF-16/32 with a
BOM are re-encoded to UTF-8 incrementally, and anything that is plainly not
text (NUL bytes, the magic of a known binary format, control bytes that are
not UTF-8) is a data error naming what it looks like.  UTF-8 itself is checked
chunk by chunk in ``text.line_chunks`` with ``first_invalid_utf8``, so a bad
byte anywhere is an error at its line, never a silent U+FFFD.
"""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable
from typing import BinaryIO

from softmax_cli.errors import DataError

#: Enough bytes to recognise every magic number below.
MAGIC_BYTES = 16

# Compressed formats read transparently: magic, name, opener.
_COMPRESSED: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)

# Byte order marks of the encodings decoded to UTF-8.
# UTF-32 comes first: its LE mark starts with UTF-16's.
_BOMS: tuple[tuple[bytes, str, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32LE"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32BE"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16BE"),
)

# Binary formats that users pipe in by mistake, by magic bytes.
_BINARY_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x7fELF", "an ELF binary"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive, .npz or office file"),
    (b"PK\x05\x06", "an empty ZIP archive"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data; decompress it with zstd -d first"),
    (b"\xca\xfe\xba\xbe", "a Mach-O or Java class file"),
    (b"\xcf\xfa\xed\xfe", "a Mach-O binary"),
    (b"\xce\xfa\xed\xfe", "a Mach-O binary"),
    (b"\x80\x04\x95", "a Python pickle"),
    (b"\x80\x05\x95", "a Python pickle"),
)

_NPY_MAGIC = b"\x93NUMPY"

_ALL_MAGIC = (
    [magic for magic, _ in _COMPRESSED]
    + [bom for bom, _, _ in _BOMS]
    + [magic for magic, _ in _BINARY_MAGIC]
    + [_NPY_MAGIC]
)
assert max(map(len, _ALL_MAGIC)) <= MAGIC_BYTES

# C0 controls that never appear in text (tab, LF, VT, FF and CR do).
_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r") + b"\x7f"


class Replay(io.RawIOBase):
    """A stream that gives ``head`` first, then the rest of ``stream``: a peek undone."""

    def __init__(self, head: bytes, stream: BinaryIO):
        super().__init__()
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self.head:  # more can be read at once: nothing to wait for
            raise io.UnsupportedOperation("replaying")
        return self.stream.fileno()

    def read1(self, size: int = -1) -> bytes:
        if self.head:
            if size < 0 or size >= len(self.head):
                data, self.head = self.head, b""
            else:
                data, self.head = self.head[:size], self.head[size:]
            return data
        # A short read is fine for the decompressors and keeps a slow pipe streaming.
        return read_some(self.stream, size if size > 0 else 1 << 18)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            head, self.head = self.head, b""
            return head + self.stream.read()
        return self.read1(size)

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def readinto1(self, buffer) -> int:  # type: ignore[no-untyped-def]
        """One read straight into ``buffer`` once the head is given: no new bytes object."""
        into = getattr(self.stream, "readinto1", None)
        if self.head or into is None:
            data = self.read1(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        return into(buffer)


class _Decompressed(io.RawIOBase):
    """A decompressing reader whose failures are one-line data errors."""

    def __init__(self, name: str, stream: BinaryIO):
        super().__init__()
        self.name_of_format = name
        self._inner = _opener(name)(stream)
        self._stream = stream

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def read1(self, size: int = -1) -> bytes:
        return self._guarded(self._inner.read1, size if size > 0 else 1 << 18)

    def read(self, size: int = -1) -> bytes:
        return self._guarded(self._inner.read, size)

    def _guarded(self, read: Callable[[int], bytes], size: int) -> bytes:
        import lzma
        import zlib

        name = self.name_of_format
        try:
            return read(size)
        except EOFError:
            raise DataError(f"input is {name} but ends early") from None
        except (OSError, lzma.LZMAError, zlib.error, ValueError) as problem:
            detail = str(problem).strip() or type(problem).__name__
            raise DataError(f"input is not valid {name} ({detail})") from None


def _opener(name: str) -> Callable[[BinaryIO], BinaryIO]:
    if name == "gzip":
        import gzip

        return lambda stream: gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    if name == "bz2":
        import bz2

        return lambda stream: bz2.BZ2File(stream, mode="rb")  # type: ignore[return-value]
    import lzma

    return lambda stream: lzma.LZMAFile(stream, mode="rb")  # type: ignore[return-value]


class _Transcoded(io.RawIOBase):
    """UTF-16 or UTF-32 decoded incrementally and handed on as UTF-8."""

    def __init__(self, codec: str, name: str, stream: BinaryIO):
        super().__init__()
        self._decoder = codecs.getincrementaldecoder(codec)(errors="strict")
        self._codec = codec
        self._name = name
        self._stream = stream
        self._done = False
        self._error: DataError | None = None

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._stream.fileno()

    def read1(self, size: int = -1) -> bytes:
        if self._error is not None:
            raise self._error
        size = size if size > 0 else 1 << 18
        # A piece may end inside a character: read on until some text comes out or input ends.
        while not self._done:
            data = read_some(self._stream, size)
            try:
                text = self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as problem:
                reason = "ends inside a character" if not data else f"is invalid ({problem.reason})"
                self._error = DataError(f"input is {self._name} but {reason}")
                # The text before the bad bytes is handed on first, so its lines are read.
                whole = self._decoder.getstate()[0] + data
                text = whole[: problem.start].decode(self._codec)
                if text:
                    return text.encode("utf-8")
                raise self._error from None
            if not data:
                self._done = True
            if text:
                return text.encode("utf-8")
        return b""

    read = read1


def read_some(stream: BinaryIO, size: int) -> bytes:
    """What one read gives (``read1`` where there is one), so a slow pipe is not waited on."""
    reader = getattr(stream, "read1", None)
    return reader(size) if reader is not None else stream.read(size)


def _peek(stream: BinaryIO, size: int) -> tuple[bytes, BinaryIO]:
    """The first bytes and a stream that gives them again.

    One read, and more only while what came could still be the start of a magic
    number: a slow pipe's first line is not held back waiting for more.
    """
    head = read_some(stream, size)
    while head and _may_be_magic(head):
        more = read_some(stream, size)
        if not more:
            break
        head += more
    return head, Replay(head, stream)  # type: ignore[return-value]


def _may_be_magic(head: bytes) -> bool:
    """True when ``head`` is a proper prefix of a magic number we look for."""
    return len(head) < MAGIC_BYTES and any(
        len(head) < len(magic) and magic.startswith(head) for magic in _ALL_MAGIC
    )


class NpyInput:
    """Not text: a NumPy ``.npy`` array, recognised by its magic bytes."""

    def __init__(self, stream: BinaryIO, original: BinaryIO | None):
        self.stream = stream  # from the magic bytes on
        self.original = original  # the file itself when nothing was decompressed: mappable


def text_stream(stream: BinaryIO, chunk_bytes: int) -> BinaryIO | NpyInput:
    """Return ``stream`` as UTF-8 bytes: decompressed, decoded from UTF-16/32, checked to be text.

    Raises DataError, before anything is read by a parser, when the input is
    plainly not text.
    """
    original: BinaryIO | None = stream
    head, stream = _peek(stream, chunk_bytes)
    for _ in range(3):  # a .gz of a .gz is unwrapped too, a bomb of nesting is not
        name = next((name for magic, name in _COMPRESSED if head.startswith(magic)), None)
        if name is None:
            break
        head, stream = _peek(_Decompressed(name, stream), chunk_bytes)  # type: ignore[arg-type]
        original = None
    if head.startswith(_NPY_MAGIC):
        return NpyInput(stream, original)
    for bom, codec, encoding in _BOMS:
        if head.startswith(bom):
            stream.read(len(bom))
            head, stream = _peek(
                _Transcoded(codec, encoding, stream),  # type: ignore[arg-type]
                chunk_bytes,
            )
            break
    problem = not_text(head)
    if problem is not None:
        raise problem
    return stream


def not_text(head: bytes) -> DataError | None:
    """Why the first bytes of an input are not text (placed at a line where one is to blame)."""
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            return DataError(f"input is not text ({what}?)")
    nul = head.find(b"\x00")
    if nul >= 0:
        hint = "UTF-16 or UTF-32 without a BOM, or binary data"
        return _placed(head, nul, f"a NUL byte: input is not text ({hint}?)")
    bad = first_invalid_utf8(head)
    if bad >= 0 and head.translate(None, _CONTROL_BYTES) != head:
        return _placed(head, bad, "not UTF-8, and control bytes: input is not text (binary data?)")
    return None


def _placed(data: bytes, offset: int, message: str) -> DataError:
    """``message`` about the byte at ``offset`` of the first bytes, at its line."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return DataError(
        f"byte {offset - line_start + 1} of the line is {message}",
        line=1 + data.count(b"\n", 0, line_start),
    )


def first_invalid_utf8(data: bytes) -> int:
    """Offset of the first byte that is not UTF-8, or -1; a character cut at the end is fine."""
    if data.isascii():
        return -1
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as problem:
        if problem.reason == "unexpected end of data" and problem.end == len(data):
            return -1
        return problem.start
    return -1


def not_utf8_error(chunk: bytes, first_line: int) -> tuple[int, DataError] | None:
    """Where the line with the first byte that is not UTF-8 starts in a chunk, and its error."""
    if chunk.isascii():
        return None
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as problem:
        start = problem.start
    else:
        return None
    line_start = chunk.rfind(b"\n", 0, start) + 1
    line = first_line + chunk.count(b"\n", 0, line_start)
    return line_start, DataError(
        f"byte {start - line_start + 1} of the line is 0x{chunk[start]:02X}, not UTF-8"
        " (if this is Latin-1, re-encode it: iconv -f LATIN1 -t UTF-8)",
        line=line,
    )
