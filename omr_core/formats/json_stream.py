"""Stream the members of a huge top-level JSON object in batches of whole elements, with bounded memory.

A numpy pass finds the brackets that are outside strings and their nesting depth (simdjson's first stage,
done on the sparse positions of quotes and brackets); that is enough to cut a member's value into batches of
complete elements that a fast decoder (msgspec) then parses. Memory is bounded by the chunk size, not by the
file size, and the byte offset of every element is known, so errors can name their position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

import numpy as np

CHUNK_BYTES = 1 << 20  # 1 MiB: as fast as bigger chunks here, and the decoded batch stays small
_KEY_BEFORE = re.compile(rb'"((?:[^"\\]|\\.)*)"\s*:\s*$')
_LOOKBACK = 4096


class JsonStreamError(ValueError):
    """The file is not the JSON expected; the message names the file, byte, line and column."""


@dataclass
class Batch:
    """Complete elements of one member's value (an object's `"key": value` pairs or an array's items).

    Attributes:
        member: the top-level key the elements belong to.
        text: the elements' bytes, separated by commas; wrap in {} or [] to decode.
        element_spans: (k, 2) int64 [start, end) of each element within `text`, leading separators excluded.
        offset: absolute byte offset of `text[0]` in the file.
        final: this is the member's last batch.
    """

    member: str
    text: bytes
    element_spans: np.ndarray
    offset: int
    final: bool


@dataclass
class Member:
    """A whole top-level member value (for the small members: info, categories...)."""

    member: str
    text: bytes
    offset: int


class _Scanner:
    """Sliding buffer over a file with the bracket-depth state carried across chunks."""

    def __init__(self, f: BinaryIO, chunk_bytes: int):
        self.f, self.chunk_bytes = f, chunk_bytes
        self.buf = b""
        self.buf_offset = 0  # absolute offset of buf[0]
        self.depth, self.in_string, self.backslashes = 0, 0, 0
        self.eof = False

    def read_and_scan(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Read one chunk; return positions (relative to buf), characters and depth after each
        structural bracket in it."""
        chunk = self.f.read(self.chunk_bytes)
        if not chunk:
            self.eof = True
            return np.zeros(0, np.int64), np.zeros(0, np.uint8), np.zeros(0, np.int64)
        base = len(self.buf)
        self.buf += chunk
        data = np.frombuffer(chunk, dtype=np.uint8)
        quotes = np.flatnonzero(data == 34)
        if self.backslashes or (data == 92).any():
            quotes = self._unescaped(data, quotes)
        brackets = np.flatnonzero((data == 123) | (data == 125) | (data == 91) | (data == 93))
        outside = ((np.searchsorted(quotes, brackets) + self.in_string) & 1) == 0
        brackets = brackets[outside]
        chars = data[brackets]
        delta = np.where((chars == 123) | (chars == 91), 1, -1)
        depth_after = self.depth + np.cumsum(delta)
        self.in_string = (self.in_string + len(quotes)) & 1
        if len(depth_after):
            self.depth = int(depth_after[-1])
        tail = 0  # backslashes ending the chunk escape what starts the next one
        while tail < len(chunk) and chunk[-1 - tail] == 92:
            tail += 1
        self.backslashes = self.backslashes + tail if tail == len(chunk) else tail
        return brackets + base, chars, depth_after

    def _unescaped(self, data: np.ndarray, quotes: np.ndarray) -> np.ndarray:
        """Drop quotes preceded by an odd run of backslashes (rare: only then do we loop in Python)."""
        keep = np.ones(len(quotes), dtype=bool)
        preceded = np.flatnonzero((quotes > 0) & (data[np.maximum(quotes - 1, 0)] == 92) | (quotes == 0))
        for k in preceded:
            i = int(quotes[k])
            j = i - 1
            while j >= 0 and data[j] == 92:
                j -= 1
            run = i - 1 - j + (self.backslashes if j < 0 else 0)
            keep[k] = run % 2 == 0
        return quotes[keep]

    def drop(self, upto: int) -> None:
        """Forget buf[:upto]."""
        self.buf = self.buf[upto:]
        self.buf_offset += upto


def line_col(path: Path, offset: int) -> tuple[int, int]:
    """1-based line and column of an absolute byte offset (read again only when reporting an error)."""
    line, last_newline, done = 1, -1, 0
    with open(path, "rb") as f:
        while done < offset:
            chunk = f.read(min(CHUNK_BYTES, offset - done))
            if not chunk:
                break
            n = chunk.count(b"\n")
            if n:
                line += n
                last_newline = done + chunk.rfind(b"\n")
            done += len(chunk)
    return line, offset - last_newline


def position(path: Path, offset: int) -> str:
    line, col = line_col(path, offset)
    return f"byte {offset} (line {line}, column {col})"


def stream_members(
    path: Path | str,
    batched: set[str],
    whole: set[str],
    chunk_bytes: int | None = None,
) -> Iterator[Batch | Member]:
    """Walk a top-level JSON object and yield the members asked for.

    Members in `batched` (containers of containers, e.g. `annotations`) come as `Batch`es of complete
    elements; members in `whole` come once as a `Member`. Others are skipped without being decoded.

    Raises:
        JsonStreamError: the top level is not an object, brackets do not balance, or the file ends early.
            Whatever was yielded before stays valid.
    """
    path = Path(path)
    with open(path, "rb") as f:
        scanner = _Scanner(f, chunk_bytes=chunk_bytes or CHUNK_BYTES)
        member: str | None = None  # the member whose value we are inside
        value_start = 0  # where its value begins, relative to buf
        element_start = 0  # first byte not yet handed out, relative to buf
        ends: list[np.ndarray] = []  # element ends (exclusive, relative to buf) not yet handed out
        seen_object = False
        while not scanner.eof:
            positions, chars, depths = scanner.read_and_scan()
            opening = (chars == 123) | (chars == 91)
            # Python only looks at the few brackets that open or close a member or the document;
            # element ends inside a member (a close back to depth 2) are sliced out with numpy.
            boundaries = np.flatnonzero((opening & (depths <= 2)) | (~opening & (depths <= 1)))
            element_ends = ~opening & (depths == 2)
            previous = 0
            for b in [*boundaries.tolist(), len(positions)]:
                if member in batched:
                    ends.append(positions[previous:b][element_ends[previous:b]] + 1)
                previous = b + 1
                if b == len(positions):
                    break
                pos, char, depth = int(positions[b]), int(chars[b]), int(depths[b])
                if depth < 0:
                    raise JsonStreamError(f"{path}: unbalanced {chr(char)!r} at {position(path, scanner.buf_offset + pos)}")
                if not seen_object:
                    if char != ord("{"):
                        raise JsonStreamError(
                            f"{path}: expected a JSON object at the top level, but got {chr(char)!r} at "
                            f"{position(path, scanner.buf_offset + pos)}"
                        )
                    seen_object = True
                elif opening[b] and depth == 2:
                    match = _KEY_BEFORE.search(scanner.buf[max(0, pos - _LOOKBACK) : pos])
                    key = match.group(1).decode("utf-8", "replace") if match else ""
                    member = key if key in batched or key in whole else None
                    value_start = element_start = pos
                    ends = []
                elif depth == 1 and member is not None:
                    if member in batched:
                        yield _batch(scanner, member, element_start + (element_start == value_start), ends, final=True)
                    else:
                        yield Member(member, scanner.buf[value_start : pos + 1], scanner.buf_offset + value_start)
                    member, ends = None, []
                elif depth == 0:
                    _expect_only_whitespace(path, f, scanner.buf[pos + 1 :], scanner.buf_offset + pos + 1)
                    return
            if member in batched and sum(len(e) for e in ends):
                first = element_start + (element_start == value_start)  # skip the container's own bracket
                batch = _batch(scanner, member, first, ends, final=False)
                element_start = batch.offset - scanner.buf_offset + len(batch.text)
                ends = []
                yield batch
            if member is None:
                keep_from = len(scanner.buf) - _LOOKBACK
            else:
                keep_from = value_start if member in whole else element_start
            keep_from = max(0, keep_from)
            scanner.drop(keep_from)
            value_start -= keep_from
            element_start -= keep_from
        where = f"inside {member!r}" if member else "before the top-level object closed"
        raise JsonStreamError(
            f"{path}: the file ends {where} at {position(path, scanner.buf_offset + len(scanner.buf))}: truncated?"
        )


def _expect_only_whitespace(path: Path, f: BinaryIO, rest: bytes, offset: int) -> None:
    """After the top-level object closes, only whitespace may follow (else brackets did not match)."""
    while True:
        stripped = rest.lstrip()
        if stripped:
            where = position(path, offset + len(rest) - len(stripped))
            raise JsonStreamError(f"{path}: unbalanced brackets or extra data after the top-level object at {where}")
        offset += len(rest)
        rest = f.read(CHUNK_BYTES)
        if not rest:
            return


def _batch(scanner: _Scanner, member: str, first: int, ends: list[np.ndarray], final: bool) -> Batch:
    end = np.concatenate(ends) if ends else np.zeros(0, np.int64)
    if not len(end):
        return Batch(member, b"", np.zeros((0, 2), np.int64), scanner.buf_offset + first, final)
    text = scanner.buf[first : int(end[-1])]
    start = np.concatenate([[first], end[:-1]]).astype(np.int64) - first
    # Elements start after the separating comma and whitespace: step each start past them (a few bytes).
    data = np.frombuffer(text, dtype=np.uint8)
    separators = np.frombuffer(b", \t\r\n", dtype=np.uint8)
    pending = np.isin(data[start], separators)  # text ends with an element's closing bracket: never past it
    while pending.any():
        start[pending] += 1
        pending[pending] = np.isin(data[start[pending]], separators)
    lead = int(start[0])  # the separator before the first element is not part of the batch
    spans = np.column_stack([start - lead, end - first - lead]).astype(np.int64)
    return Batch(member, text[lead:], spans.reshape(-1, 2), scanner.buf_offset + first + lead, final)
